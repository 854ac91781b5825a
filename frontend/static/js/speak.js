/* "Read aloud" buttons (frontend/templates/_speak.html): the button's data-speak text, spoken in the page's
 * language with a voice of that language (ar-MA, else any Arabic voice; fr-FR, else any French...). While it
 * speaks the button says "Stop" (data-stop-label) and stops on a second tap; it comes back when the speech ends,
 * fails or is cancelled. A phone without speech, or without a voice for the language, gets the data-no-voice
 * sentence in the status line under the button instead of silence. Loaded by the macro, maybe more than once:
 * it runs once. */
(function () {
  "use strict";
  if (window.walletSpeak) { return; }
  window.walletSpeak = true;
  var doc = document;
  var PREFERRED = { ar: ["ar-MA", "ar"], fr: ["fr-FR", "fr-MA", "fr"], en: ["en-GB", "en-US", "en"] };
  var VOICE_WAIT = 1500;  // ms to wait for voices that load late (Chrome fills getVoices() after voiceschanged)
  var current = null;  // { button, utterance } of the speech under way

  function synth() {
    var s = window.speechSynthesis;
    return s && typeof window.SpeechSynthesisUtterance === "function" ? s : null;
  }

  function norm(tag) { return String(tag || "").replace("_", "-").toLowerCase(); }

  function pickVoice(voices, lang) {
    var base = norm(lang).split("-")[0];
    var wanted = PREFERRED[base] || [base];
    for (var i = 0; i < wanted.length; i++) {
      var want = norm(wanted[i]);
      for (var j = 0; j < voices.length; j++) {
        var have = norm(voices[j].lang);
        if (have === want || (want.indexOf("-") < 0 && have.split("-")[0] === want)) { return voices[j]; }
      }
    }
    return null;
  }

  function withVoices(s, done) {
    var voices = s.getVoices() || [];
    if (voices.length) { done(voices); return; }
    var finished = false;
    function finish() {
      if (finished) { return; }
      finished = true;
      if (s.removeEventListener) { s.removeEventListener("voiceschanged", finish); }
      done(s.getVoices() || []);
    }
    if (s.addEventListener) { s.addEventListener("voiceschanged", finish); }
    setTimeout(finish, VOICE_WAIT);
  }

  function statusOf(button) {
    var next = button.nextElementSibling;
    if (next && next.classList.contains("speak-status")) { return next; }
    var p = doc.createElement("p");  // a button written before the macro had its status line
    p.className = "speak-status";
    p.setAttribute("role", "status");
    p.setAttribute("aria-live", "polite");
    p.hidden = true;
    button.parentNode.insertBefore(p, button.nextSibling);
    return p;
  }

  function say(button, text) {
    var status = statusOf(button);
    status.textContent = text || "";
    status.hidden = !text;
  }

  function idle(button) {
    button.textContent = button.getAttribute("data-speak-label");
    if (current && current.button === button) { current = null; }
  }

  function noVoice(button) {
    say(button, button.getAttribute("data-no-voice") ||
      "This phone has no voice for this language.");
  }

  function start(button) {
    var s = synth();
    if (!s) { noVoice(button); return; }
    var lang = doc.documentElement.lang || "fr";
    withVoices(s, function (voices) {
      var voice = pickVoice(voices, lang);
      if (!voice) { noVoice(button); return; }
      say(button, "");
      var u = new window.SpeechSynthesisUtterance(button.getAttribute("data-speak"));
      u.voice = voice;
      u.lang = voice.lang;
      u.onend = u.onerror = function () { if (current && current.utterance === u) { idle(button); } };
      current = { button: button, utterance: u };  // kept: Chrome drops the events of a collected utterance
      button.textContent = button.getAttribute("data-stop-label") || "Stop";
      s.speak(u);
    });
  }

  function bind(button) {
    if (button.getAttribute("data-speak-bound")) { return; }
    button.setAttribute("data-speak-bound", "1");
    if (!button.getAttribute("data-speak-label")) { button.setAttribute("data-speak-label", button.textContent); }
    button.hidden = false;  // shown even without speech: a tap then says why nothing is read
    button.addEventListener("click", function () {
      var s = synth();
      if (current) {
        var was = current.button;
        idle(was);
        if (s) { s.cancel(); }
        if (was === button) { return; }  // the second tap stops
      }
      start(button);
    });
  }

  function init() { Array.prototype.forEach.call(doc.querySelectorAll("button[data-speak]"), bind); }
  if (doc.readyState === "loading") { doc.addEventListener("DOMContentLoaded", init); } else { init(); }
  window.addEventListener("pagehide", function () { var s = synth(); if (s && current) { s.cancel(); } });
})();
