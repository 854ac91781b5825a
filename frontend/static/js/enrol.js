/* Enrolment and reset: the "Copy the key" button of the authenticator step. Without this file the key is plain
 * text to select and copy by hand (the button stays hidden). */
(function () {
  "use strict";
  var doc = document;

  function fallbackCopy(text) {
    // older browsers: a hidden text field, selected and copied with the legacy command
    var area = doc.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    doc.body.appendChild(area);
    area.select();
    var done = false;
    try { done = doc.execCommand("copy"); } catch (e) { done = false; }
    doc.body.removeChild(area);
    return done;
  }

  Array.prototype.forEach.call(doc.querySelectorAll("button[data-copy]"), function (button) {
    var status = button.parentNode.querySelector(".copy-status");
    var label = button.textContent;
    var timer = null;
    function say(text, ok) {
      if (status) { status.textContent = text; }
      if (ok) {
        button.textContent = button.getAttribute("data-copied");
        clearTimeout(timer);
        timer = setTimeout(function () { button.textContent = label; }, 4000);
      }
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = button.getAttribute("data-copy");
      var ok = function () { say(button.getAttribute("data-copied"), true); };
      var failed = function () {
        if (fallbackCopy(text)) { ok(); } else { say(button.getAttribute("data-copy-failed"), false); }
      };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(text).then(ok, failed);
      } else {
        failed();
      }
    });
  });
})();
