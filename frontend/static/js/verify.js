/* The upload page: show the chosen file's name in the big picker. The page works without this file. */
(function () {
  "use strict";
  var input = document.getElementById("file");
  var name = document.getElementById("file-name");
  if (!input || !name) { return; }
  input.addEventListener("change", function () {
    var file = input.files && input.files[0];
    name.textContent = file ? file.name : name.getAttribute("data-none");
  });
})();
