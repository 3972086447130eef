// The error page needs nothing beyond the shared chrome.
import "./core.js";
