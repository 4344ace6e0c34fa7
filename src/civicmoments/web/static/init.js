// GOV.UK Frontend's components, started from a file so the Content-Security-Policy needs no inline script.
import { initAll } from "/static/govuk-frontend.min.js";
initAll();

// The session-timeout warning (GOV.UK pattern): a modal dialog before the session ends, then the
// start page. Its words come from the page, in the page's language.
const timeout = document.getElementById("civic-timeout");
if (timeout) {
  const warnAfter = Number(timeout.dataset.warnAfter), endAfter = Number(timeout.dataset.signOutAfter);
  const dialog = document.createElement("dialog");
  dialog.className = "civic-timeout";
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
  button.addEventListener("click", () => dialog.close());
  dialog.append(title, body, button);
  document.body.append(dialog);
  if (warnAfter > 0) setTimeout(() => dialog.showModal(), warnAfter * 1000);
  if (endAfter > 0) setTimeout(() => window.location.assign("/"), endAfter * 1000);
}
