// Share posters: the PNG comes from /api/shop/v1/posters/… with the customer's session
// (the QR carries their share code), shown as a data: URL (the shop's content policy
// allows data: images, not blob:). Signed-out visitors are sent to sign in first.
import {goToLogin, sessionToken, TOKEN_HEADER} from "./core.js";

export async function showPoster(path, image) {
  if (!sessionToken()) {
    goToLogin();
    return;
  }
  const response = await fetch(`/api/shop/v1/posters/${path}`, {
    headers: {[TOKEN_HEADER]: sessionToken()},
  });
  if (!response.ok) throw new Error(String(response.status));
  const blob = await response.blob();
  await new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => {
      image.src = String(reader.result);
      image.hidden = false;
      resolve();
    };
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}
