/* Request and payment forms: keep what was typed on this phone (weak signal, the camera app taking over
   the page), and send a form once even when tapped twice. The server is idempotent anyway. */
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[method=post]");
  Array.prototype.forEach.call(forms, function (f) {
    f.addEventListener("submit", function (ev) {
      if (f.dataset.sent) { ev.preventDefault(); return; }
      f.dataset.sent = "1";
      // Disable after the browser has read the clicked button's name and value.
      setTimeout(function () {
        Array.prototype.forEach.call(f.querySelectorAll("button[type=submit]"), function (b) { b.disabled = true; });
      }, 0);
    });
  });
  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(forms, function (f) {
      delete f.dataset.sent;
      Array.prototype.forEach.call(f.querySelectorAll("button[type=submit]"), function (b) { b.disabled = false; });
    });
  });

  var form = document.getElementById("request-form");
  if (!form || !form.dataset.autosave) return;
  var store;
  try { store = window.localStorage; store.getItem("x"); } catch (e) { return; }
  var key = form.dataset.autosave;
  var version = form.elements.version ? form.elements.version.value : "";
  function fields() {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name !== "csrf_token" && el.name !== "client_key" && el.name !== "version" &&
        el.name !== "kind" && ["hidden", "file", "submit", "button"].indexOf(el.type) < 0;
    });
  }
  function save() {
    var values = {};
    fields().forEach(function (el) { values[el.name] = el.value; });
    try { store.setItem(key, JSON.stringify({v: version, values: values})); } catch (e) { /* full: ignore */ }
  }
  var saved = null;
  try { saved = JSON.parse(store.getItem(key) || "null"); } catch (e) { saved = null; }
  var fresh = !form.querySelector(".has-error") && fields().every(function (el) {
    return !el.value || el.tagName === "SELECT" || (form.elements.version && form.elements.version.value);
  });
  if (saved && saved.v === version && fresh) {
    var changed = false;
    fields().forEach(function (el) {
      if (Object.prototype.hasOwnProperty.call(saved.values, el.name) && saved.values[el.name] !== el.value) {
        el.value = saved.values[el.name];
        changed = true;
      }
    });
    var note = form.querySelector(".autosave-note");
    if (changed && note) { note.hidden = false; }  // its text comes from the template, translated
  }
  var timer = null;
  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(save, 400); });
  form.addEventListener("change", save);
  form.addEventListener("submit", function () { clearTimeout(timer); try { store.removeItem(key); } catch (e) { /* ignore */ } });
})();
