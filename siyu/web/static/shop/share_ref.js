// Share links carry ?ref=<code>: a customer's share code (posters) or a promoter's code.
// Whatever storefront page a link opens, the code is kept on this device for a week;
// checkout sends it as `ref` so the order names its referrer, and a promoter code also
// binds the visitor to the promoter once they are signed in (referral_ref.js).
import {captureRef} from "./referral_ref.js";

const KEY = "siyu.share.ref";
const KEEP_MS = 7 * 24 * 3600 * 1000;
const CODE = /^[A-Za-z0-9]{4,40}$/;

function read() {
  try {
    return JSON.parse(window.localStorage.getItem(KEY) || "null");
  } catch (error) {
    return null;
  }
}

function remember(code) {
  try {
    window.localStorage.setItem(KEY, JSON.stringify({code, at: Date.now()}));
  } catch (error) {
    // Private mode: the code is simply not kept.
  }
}

export function sharedRef() {
  const kept = read();
  return kept && CODE.test(kept.code) && Date.now() - kept.at < KEEP_MS ? kept.code : null;
}

const fromUrl = new URL(window.location.href).searchParams.get("ref");
if (fromUrl && CODE.test(fromUrl)) remember(fromUrl);
captureRef().catch(() => null);
