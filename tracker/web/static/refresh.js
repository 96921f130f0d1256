// The overview reloads itself every data-refresh seconds, so a screen left open stays current. Without
// JavaScript the page is the same, only still. No inline script: the Content-Security-Policy allows only this file.
(function () {
  "use strict";
  var seconds = parseInt(document.body.getAttribute("data-refresh") || "0", 10);
  if (seconds > 0) {
    window.setTimeout(function () {
      if (document.visibilityState !== "hidden") {
        window.location.reload();
      }
    }, seconds * 1000);
  }
})();
