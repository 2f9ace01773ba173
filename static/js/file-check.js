/* A chosen file is checked on the phone before anything is sent (issue 16): its type, and its size once
   request-form.js has shrunk a photo. A file that would be refused is taken off the picker and the
   message says what to do instead, so minutes of a weak uplink are not spent on it. The server checks
   again whatever this says. Pickers: _macros/forms.html file_picker (data-max-bytes). */
(() => {
'use strict';
const say = document.currentScript.dataset;  // _form_script.html
const TYPES = /^(image\/(jpe?g|png|webp)|application\/pdf)$/, NAMES = /\.(jpe?g|png|webp|pdf)$/i;
const mb = n => (n / 1048576).toFixed(1);
const fill = (text, v) => text.replace(/\{(\w+)\}/g, (m, k) => v[k]);

// What is wrong with one file ('' if nothing), and a note about shrinking it.
async function verdict(file, limit) {
  const pdf = file.type === 'application/pdf' || (!file.type && /\.pdf$/i.test(file.name));
  if (!(TYPES.test(file.type) || (!file.type && NAMES.test(file.name)))) return {bad: fill(say.type, {name: file.name})};
  if (file.size <= limit) return {};
  const v = {name: file.name, size: mb(file.size), limit: mb(limit)};
  if (pdf) return {bad: fill(say.pdf, v)};
  const small = window.SanziForm ? await SanziForm.shrink(file) : file;
  if (small.size > limit) return {bad: fill(say.photo, v)};
  return {note: fill(say.shrunk, {...v, after: mb(small.size)})};
}

async function check(input) {
  const box = input.closest('.field'), limit = +input.dataset.maxBytes;
  let out = box.querySelector(`.file-check[data-for="${input.id}"]`);
  if (!out) {
    out = Object.assign(document.createElement('div'), {className: 'file-check'});
    out.dataset.for = input.id;
    out.setAttribute('role', 'alert');
    box.append(out);
  }
  out.replaceChildren();
  const found = await Promise.all([...input.files].map(f => verdict(f, limit)));
  if (found.some(v => v.bad)) input.value = '';  // never sent: the picker is empty again
  for (const v of found) {
    if (v.bad || v.note) out.append(Object.assign(document.createElement('p'), {
      className: v.bad ? 'error' : 'hint', textContent: v.bad || v.note}));
  }
  box.classList.toggle('has-error', !!box.querySelector('.file-check .error'));
}

document.addEventListener('change', e => {
  if (e.target.matches('input[type=file][data-max-bytes]')) check(e.target);
});
})();
