// Share links carry ?ref=<promoter code>. Any storefront page may call captureRef():
// the code is kept on the device and, once the visitor is signed in, bound through
// /api/shop/v1/campaigns/referral/bind (last touch or first bind, as the programme
// says). A code that no longer binds (unknown, own code, programme over) is dropped.
import {api, sessionToken} from "./core.js";

const KEY = "siyu.referral.ref";

function stored() {
  try {
    return window.localStorage.getItem(KEY);
  } catch (error) {
    return null;
  }
}

function store(value) {
  try {
    if (value) window.localStorage.setItem(KEY, value);
    else window.localStorage.removeItem(KEY);
  } catch (error) {
    // Private mode: the code lives as long as the page.
  }
}

export async function captureRef() {
  const fromUrl = new URL(window.location.href).searchParams.get("ref");
  if (fromUrl && /^[A-Z0-9]{4,16}$/.test(fromUrl)) store(fromUrl);
  const code = stored();
  if (!code || !sessionToken()) return null;
  try {
    const binding = await api("POST", "/campaigns/referral/bind", {code});
    store(null);
    return binding;
  } catch (error) {
    if (error.status && error.status < 500 && error.status !== 401) store(null);
    return null;
  }
}
