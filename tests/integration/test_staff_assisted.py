"""Assisted service from the work coach's single view, over HTTP (the application in process and
the real JobMatch partner): for a person who is not online the coach answers the survey and books
an interview, each marked as done for them with how they asked; records and agrees the claimant
commitment (which the person then sees in the portal), adjustments and an appointee; enters the
contact details the person gives. The assisted channel's staff tasks are assisted-contact cases."""

from __future__ import annotations

import re

from sqlalchemy import select

from civicmoments.adapters.store.schema import inbox
from civicmoments.web.staff import DEMO_OFFICERS

from .test_interview_booking import world  # noqa: F401 - the app with JobMatch running, and people with plans
from .test_staff_casework import csrf, session


def _coach(world):  # noqa: F811
    app = world["app"]
    officers = {subject: app.officers.add(name, subject, org, list(roles)) for name, subject, org, roles in DEMO_OFFICERS}
    world.update(officers=officers)
    from civicmoments.api.app import create_app

    world.setdefault("api", create_app(app))
    return session(world, officer=officers["demo-work-coach"].id)


def test_a_coach_answers_the_survey_and_books_an_interview_for_a_person_who_is_not_online(world):  # noqa: F811
    app, dee = world["app"], world["people"]["Dee"]
    app.messenger.set_preferences(dee, {**app.messenger.preferences(dee).as_dict(), "offline": True})
    case = app.cases.open("work-coach", dee, "Not online: call them")
    wc = _coach(world)
    view = wc.get(f"/staff/people/{dee}")
    assert view.status_code == 200 and 'id="assisted"' in view.text and 'id="interview-choice"' in view.text
    token = csrf(view.text)

    no_how = wc.post(f"/staff/people/{dee}/interview", data={"csrf_token": token, "choice": ""})
    assert no_how.status_code == 422 and "Select how the person asked" in no_how.text
    assert "Select a job and a time" in no_how.text
    choice = re.search(r'<option value="([^"|]+\|[^"]+)">', view.text).group(1)
    booked = wc.post(f"/staff/people/{dee}/interview", data={"csrf_token": token, "choice": choice, "how": "phone"},
                     follow_redirects=False)
    assert booked.status_code == 303, booked.text[:600]
    app.worker.drain()
    (j,) = [j for j in app.store.journeys_for(dee) if j.moment == "job-loss"]
    assert j.steps["interview"].result["starts"] == choice.split("|", 1)[1]
    assert 'id="interview-booked"' in wc.get(f"/staff/people/{dee}").text

    form = wc.get(f"/staff/people/{dee}/survey")
    assert form.status_code == 200 and 'id="survey-aspirations"' in form.text and 'id="how-survey"' in form.text
    missing = wc.post(f"/staff/people/{dee}/survey", data={"csrf_token": token, "how": "phone"})
    assert missing.status_code == 422 and "govuk-error-summary" in missing.text and "#survey-aspirations" in missing.text
    answered = wc.post(f"/staff/people/{dee}/survey", data={
        "csrf_token": token, "how": "phone", "aspirations": "Work in a library", "travel_radius_miles": "20",
        "sort_code": "20-00-00", "account_number": "55779911", "last_day_of_work-day": "2",
        "last_day_of_work-month": "1", "last_day_of_work-year": "2026", "class1_earnings_year_before_pence": "25000",
        "class1_earnings_last_year_pence": "26,000.00"}, follow_redirects=False)
    assert answered.status_code == 303, re.findall(r"govuk-error-summary__list.*?</ul>", answered.text, re.S)
    profile = app.registry.profile(dee)
    assert profile["aspirations"].value == "Work in a library" and profile["aspirations"].basis.value == "declared"
    with app.store.engine.connect() as conn:  # the journey hears the answers were given for the person
        (data,) = conn.execute(select(inbox.c.data).where(inbox.c.subject == dee,
                                                          inbox.c.type == "civic.person.answered")).scalars()
    assert data["assisted"] == {"officer": world["officers"]["demo-work-coach"].id, "how": "phone"}
    notes = [n["text"] for n in app.cases.get(case.id).notes]
    assert any(n.startswith("Booked an interview for the person") and "by phone" in n for n in notes)
    assert any(n.startswith("Answered the survey for the person") and "by phone: done for them" in n for n in notes)

    cancelled = wc.post(f"/staff/people/{dee}/interview/cancel", data={
        "csrf_token": token, "how": "visit", "job": choice.split("|")[0], "slot": choice.split("|", 1)[1]},
        follow_redirects=False)
    assert cancelled.status_code == 303
    assert any(n.startswith("Cancelled the interview for the person") and "on a visit" in n
               for n in (x["text"] for x in app.cases.get(case.id).notes))


def test_the_commitment_adjustments_appointee_and_contact_details_are_recorded_and_the_person_sees_them(world):  # noqa: F811
    app, abe = world["app"], world["people"]["Abe"]
    app.cases.open("work-coach", abe, "Agree the claimant commitment")
    wc = _coach(world)
    token = csrf(wc.get(f"/staff/people/{abe}").text)

    bad = wc.post(f"/staff/people/{abe}/commitment", data={"csrf_token": token, "how": "office", "actions": "Apply",
                                                          "hours": "200"})
    assert bad.status_code == 422 and "govuk-error-summary" in bad.text and "1 to 70" in bad.text
    for path, data in (
            ("commitment", {"actions": "Apply for three jobs a week; update my CV", "hours": "35", "agreed": "yes"}),
            ("adjustments", {"adjustments": "Appointments after 10am; large print letters"}),
            ("appointee", {"name": "Ann Ashworth", "relationship": "sister", "phone": "07700 900123"}),
            ("contact-details", {"phone": "07700 900456", "email": "abe@example.org"})):
        done = wc.post(f"/staff/people/{abe}/{path}", data={"csrf_token": token, "how": "office", **data},
                       follow_redirects=False)
        assert done.status_code == 303, (path, done.text[:500])
    facts = app.registry.profile(abe)
    assert facts["phone"].value == "07700 900456" and facts["email"].basis.value == "declared"
    assert facts["phone"].source != "self"  # given through the officer, whose organisation recorded it
    view = wc.get(f"/staff/people/{abe}").text
    assert "Apply for three jobs a week" in view and "Ann Ashworth (sister)" in view

    portal = session(world, person=abe)
    mine = portal.get("/commitment")
    assert mine.status_code == 200
    assert "Apply for three jobs a week" in mine.text and "35" in mine.text and "Yes, on" in mine.text
    assert "Appointments after 10am" in mine.text and "Ann Ashworth (sister) can act for you" in mine.text
    welsh = portal.get("/commitment", headers={"Accept-Language": "cy"})
    assert welsh.status_code == 200


def test_an_assisted_contact_task_is_a_case_and_resolving_it_delivers_the_message(world):  # noqa: F811
    from civicmoments.adapters.channels.local import AssistedContact
    from civicmoments.engine.ports import Outgoing

    app, cal = world["app"], world["people"]["Cal"]
    wc = _coach(world)
    (provider,) = [m.provider for p in app.messenger.channels.values() for m in p.members
                   if isinstance(m.provider, AssistedContact)]
    assert provider.cases is app.cases
    provider.send([Outgoing("msg-1", cal, None, "Cal", "en", "Your plan", "short", "long")])
    provider.send([Outgoing("msg-1", cal, None, "Cal", "en", "Your plan", "short", "long")])  # the same task once
    (case,) = app.cases.list(queue="assisted-contact", person=cal)
    assert case.data["message"] == "msg-1" and "Your plan" in case.reason
    page = wc.get(f"/staff/cases/{case.id}")
    assert page.status_code == 200
