// The 404 page needs nothing beyond the shared chrome.
import "./core.js";
