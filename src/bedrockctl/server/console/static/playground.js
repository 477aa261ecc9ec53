// The playground's streaming (progressive enhancement: without this file the form posts and the page comes back
// with the whole answer). The form is sent with fetch to /playground/stream, whose Server-Sent Events are read as
// they arrive: "delta" pieces of text, then "done" (the call's audit record) or "failure" (the gateway's message).
// Model output is untrusted text: it is only ever set with textContent.
(function () {
  "use strict";
  var form = document.getElementById("playground-form");
  if (!form || !window.fetch || !window.TextDecoder) { return; }
  var $ = function (id) { return document.getElementById(id); };

  function reset() {
    $("pg-result").hidden = false;
    $("pg-answer").textContent = "";
    $("pg-failure").hidden = true;
    $("pg-failure").textContent = "";
    $("pg-cost").hidden = true;
    var old = $("pg-error");
    if (old) { old.remove(); }
  }

  function handle(event, data) {
    if (event === "delta") {
      $("pg-answer").textContent += data.text;
    } else if (event === "failure") {
      $("pg-failure").textContent = data.code + ": " + data.message + (data.request_id ? " (request " + data.request_id + ")" : "");
      $("pg-failure").hidden = false;
    } else if (event === "done") {
      $("pg-cost-usd").textContent = "$" + data.cost_usd;
      $("pg-tokens").textContent = data.input_tokens + " / " + data.output_tokens;
      $("pg-model-served").textContent = data.model;
      $("pg-request-id").textContent = data.request_id;
      $("pg-cost").hidden = false;
    }
  }

  function parse(block) {  // one SSE event: "event: x" and "data: {...}" lines
    var event = "message", data = "";
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event: ") === 0) { event = line.slice(7); }
      else if (line.indexOf("data: ") === 0) { data += line.slice(6); }
    });
    try { handle(event, JSON.parse(data)); } catch (e) { /* a malformed event is skipped */ }
  }

  form.addEventListener("submit", function (evt) {
    evt.preventDefault();
    var button = $("pg-send");
    button.disabled = true;
    reset();
    var body = new URLSearchParams(new FormData(form));
    fetch(form.getAttribute("data-stream"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": document.body.getAttribute("data-csrf") || "", "Accept": "text/event-stream" }
    }).then(function (resp) {
      if ((resp.headers.get("content-type") || "").indexOf("text/event-stream") !== 0) {
        handle("failure", { code: "HTTP " + resp.status, message: "The console refused the request; reload the page." });
        return;
      }
      var reader = resp.body.getReader(), decoder = new TextDecoder(), buffer = "";
      function pump() {
        return reader.read().then(function (part) {
          if (part.done) { if (buffer.trim()) { parse(buffer); } return; }
          buffer += decoder.decode(part.value, { stream: true });
          var at;
          while ((at = buffer.indexOf("\n\n")) >= 0) {
            parse(buffer.slice(0, at));
            buffer = buffer.slice(at + 2);
          }
          return pump();
        });
      }
      return pump();
    }).catch(function () {
      $("pg-failure").textContent = "The connection to the console was lost.";
      $("pg-failure").hidden = false;
    }).then(function () { button.disabled = false; });
  });
}());
