/* Copy buttons, loaded as a file (the Content-Security-Policy allows no inline script).
 *
 * <button type="button" data-copy="ID" hidden>Copy</button> copies the text of the element
 * with that id (or its value, for an input). Buttons stay hidden when scripts do not run;
 * the element with id ID + "-status" (role="status") says whether the copy worked.
 */
(function () {
  "use strict";

  function textOf(element) {
    return element.value !== undefined ? element.value : element.textContent.trim();
  }

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function copy(button) {
    var id = button.getAttribute("data-copy");
    var source = document.getElementById(id);
    var status = document.getElementById(id + "-status");
    if (!source) {
      return;
    }
    var say = function (message) {
      if (status) {
        status.textContent = message;
      }
    };
    var fallback = function () {
      selectText(source);
      var copied = false;
      try {
        copied = document.execCommand("copy");
      } catch (error) {
        copied = false;
      }
      say(copied ? "Copied." : "Selected: press Ctrl+C (or \u2318+C) to copy.");
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(textOf(source)).then(function () {
        say("Copied.");
      }, fallback);
    } else {
      fallback();
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("button[data-copy]");
    for (var i = 0; i < buttons.length; i += 1) {
      buttons[i].hidden = false;
      buttons[i].addEventListener("click", function (event) {
        copy(event.currentTarget);
      });
    }
  });
})();
