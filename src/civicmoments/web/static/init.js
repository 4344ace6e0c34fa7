// GOV.UK Frontend's components, started from a file so the Content-Security-Policy needs no inline script.
import { initAll } from "/static/govuk-frontend.min.js";
initAll();

// The session-timeout warning (GOV.UK pattern): a modal dialog a few minutes before the session ends.
// "Stay signed in" (or Escape) asks the server for the session's full time again and restarts both
// timers; when the time runs out, the page that says the person was signed out. A refused CSRF token
// (403) is not the end of the session: the dialog says to reload and try again, and its button reloads.
// Its words come from the page, in the page's language.
const timeout = document.getElementById("civic-timeout");
if (timeout) {
  const warnBefore = Number(timeout.dataset.warnBefore);
  const dialog = document.createElement("dialog");
  dialog.className = "civic-timeout";
  dialog.id = "civic-timeout-dialog";
  dialog.setAttribute("aria-labelledby", "civic-timeout-title");
  dialog.setAttribute("aria-describedby", "civic-timeout-body");
  const title = document.createElement("h2");
  title.className = "govuk-heading-m";
  title.id = "civic-timeout-title";
  title.textContent = timeout.dataset.title;
  const body = document.createElement("p");
  body.className = "govuk-body";
  body.id = "civic-timeout-body";
  body.textContent = timeout.dataset.body;
  const button = document.createElement("button");
  button.type = "button";
  button.className = "govuk-button govuk-!-margin-bottom-0";
  button.textContent = timeout.dataset.continue;
  dialog.append(title, body, button);
  document.body.append(dialog);

  let timers = [];
  const signedOut = () => window.location.assign(`/signed-out?lang=${encodeURIComponent(document.documentElement.lang)}`);
  const start = (secondsLeft) => {
    timers.forEach(clearTimeout);
    timers = [
      setTimeout(() => { if (!dialog.open) dialog.showModal(); }, Math.max(secondsLeft - warnBefore, 0) * 1000),
      setTimeout(signedOut, secondsLeft * 1000),
    ];
  };
  let stale = false;  // the page's CSRF token was refused: the session stands, a reload brings a fresh one
  const stay = async () => {
    if (stale) return window.location.reload();
    const form = new FormData();
    form.append("csrf_token", timeout.dataset.csrf);
    try {
      const answer = await fetch("/session/renew", { method: "POST", body: form, credentials: "same-origin" });
      if (answer.status === 403) {
        stale = true;
        body.textContent = timeout.dataset.retry;
        body.setAttribute("role", "alert");
        return;
      }
      if (!answer.ok) return signedOut();
      const { seconds_left: secondsLeft } = await answer.json();
      dialog.close();
      start(secondsLeft);
    } catch {
      signedOut();
    }
  };
  button.addEventListener("click", stay);
  dialog.addEventListener("cancel", (event) => { event.preventDefault(); stay(); });
  start(Number(timeout.dataset.signOutAfter));
}
