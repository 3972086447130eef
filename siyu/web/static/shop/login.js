// Sign-in: the demo login when the server offers it; otherwise the mini program signs in.
import {api, byId, demoLogin, errorText, flash, report, setSessionToken, t} from "./core.js";

function nextPath() {
  const next = new URLSearchParams(window.location.search).get("next") || "/shop";
  // Only a page of this shop: never a redirect elsewhere ("//host", "/\\host" …).
  try {
    const target = new URL(next, window.location.origin);
    if (target.origin === window.location.origin && target.pathname.startsWith("/shop")) {
      return target.pathname + target.search;
    }
  } catch (error) {
    // Not a URL at all.
  }
  return "/shop";
}

async function signIn(event) {
  event.preventDefault();
  const form = event.target;
  const shopper = form.elements.shopper.value.trim().toLowerCase();
  if (!/^[a-z0-9_-]{1,32}$/.test(shopper)) {
    flash(t("shop.login.shopper_hint"), "error");
    return;
  }
  const body = {shopper};
  if (window.siyu && window.siyu.anonymousId) body.anonymous_id = window.siyu.anonymousId();
  byId("demo-login-submit").disabled = true;
  try {
    const session = await api("POST", "/sessions/demo", body);
    setSessionToken(session.token);
    window.location.assign(nextPath());
  } catch (error) {
    byId("demo-login-submit").disabled = false;
    flash(errorText(error), "error");
  }
}

if (demoLogin) {
  byId("demo-login-form").addEventListener("submit", (event) => signIn(event).catch(report));
}
