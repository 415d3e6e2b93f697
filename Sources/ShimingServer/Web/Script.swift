import Foundation

/// The one small script, served by Shiming itself and only an improvement: pages work without
/// it. A picture chosen on the documents step is uploaded at once, with a progress bar, instead
/// of waiting for the upload button.
enum Script {
    static let path = "/assets/shiming.js"

    static let etag = WebController.etag(of: source)

    static let source = """
    "use strict";
    // An upload form carries its token in the address (the session is checked before a large
    // body is read); a page shown after one does not keep it in the address bar.
    if (/[?&]_csrf=/.test(window.location.search)) {
      var query = window.location.search.slice(1).split("&").filter(function (part) { return part.indexOf("_csrf=") !== 0; }).join("&");
      window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : "") + window.location.hash);
    }
    document.addEventListener("change", function (event) {
      var input = event.target;
      if (!input.matches || !input.matches("form[data-auto-upload] input[type=file]") || !input.files || !input.files.length) return;
      var form = input.form;
      var bar = form.querySelector("progress");
      var data = new FormData();
      form.querySelectorAll("input[type=hidden]").forEach(function (field) { data.append(field.name, field.value); });
      data.append(input.name, input.files[0]);
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.upload.onprogress = function (progress) {
        if (bar && progress.lengthComputable) { bar.value = Math.round(progress.loaded * 100 / progress.total); }
      };
      request.onload = function () { window.location.assign(request.responseURL || window.location.href); };
      request.onerror = function () { form.submit(); };
      if (bar) { bar.hidden = false; bar.value = 0; }
      form.querySelectorAll("button").forEach(function (button) { button.disabled = true; });
      request.send(data);
    });
    """
}
