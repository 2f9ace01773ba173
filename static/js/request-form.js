/* Forms on a weak signal: draft kept on phone, photos shrunk before upload, progress; retry with the
   same data (same client_key: nothing twice). Forms work without it. Chrome 81+. */
(() => {
'use strict';
const say = document.currentScript.dataset;  // _form_script.html
const EDGE = 2400, meta = document.querySelector('meta[name=sanzi-user]');
const user = meta ? meta.content : '', same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

const el = (tag, className = '', textContent = '') => Object.assign(document.createElement(tag),
  {className, textContent}, tag === 'button' ? {type: 'button'} : {});
// form.action may be a button
const target = form => new URL(form.getAttribute('action') || '', location.href);

// Long edge <= EDGE px as JPEG, or the original (small, PDF, or cannot shrink).
async function shrink(file) {
  if (!/^image\/(jpeg|png|webp)$/.test(file.type)) return file;
  try {
    const img = await createImageBitmap(file, {imageOrientation: 'from-image'});
    const k = Math.min(1, EDGE / Math.max(img.width, img.height)), c = document.createElement('canvas');
    if (k === 1 && file.size < 15e5) return file;
    c.width = Math.round(img.width * k);
    c.height = Math.round(img.height * k);
    c.getContext('2d').drawImage(img, 0, 0, c.width, c.height);
    const b = await new Promise(ok => c.toBlob(ok, 'image/jpeg', 0.92));
    return b && b.size < file.size
      ? new File([b], file.name.replace(/\.[^.]*$/, '') + '.jpg', {type: 'image/jpeg'}) : file;
  } catch { return file; }
}

const fields = form => [...form.elements].filter(f => f.name &&  // not csrf_token/client_key
  !/^(file|hidden|submit|button|password)$/.test(f.type));
const prop = f => (f.type === 'checkbox' ? 'checked' : 'value');
const read = form => Object.fromEntries(fields(form).map(f => [f.name, f[prop(f)]]));
const put = (form, v) => fields(form).forEach(f => { if (f.name in v) f[prop(f)] = v[f.name]; });

// Draft per user+form; restored only if the server's copy is unchanged.
function keepDraft(form) {
  const key = `sanzi:draft:${user}:${target(form).pathname}`;
  const drop = () => { try { localStorage.removeItem(key); } catch { /**/ } };
  let base = read(form), saved = null, timer;
  try { saved = JSON.parse(localStorage.getItem(key)); } catch { /**/ }
  if (saved && same(saved.v, base)) { base = saved.base; saved = null; }  // shown (form errors)
  if (saved && (!same(saved.base, base) || Date.now() - saved.t > 6048e5)) { drop(); saved = null; }  // 7 d
  if (saved) {
    put(form, saved.v);
    const when = new Date(saved.t).toLocaleString(say.lang, {dateStyle: 'short', timeStyle: 'short'});
    const note = el('p', 'flash flash-info draft-note', say.restored.replace('{when}', when));
    const no = el('button', 'link', say.discard);
    note.setAttribute('role', 'status');
    no.addEventListener('click', () => { drop(); put(form, base); note.remove(); });
    note.append(no);
    form.before(note);
  }
  const save = () => {
    const now = read(form);
    if (form.isConnected) try {  // not once replaced
      if (same(now, base)) drop();
      else localStorage.setItem(key, JSON.stringify({t: Date.now(), base, v: now}));
    } catch { /**/ }
  };
  form.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(save, 300); });
  form.addEventListener('change', save);
  addEventListener('pagehide', save);
  return drop;
}

function enhance(form) {
  const done = form.elements.payee_name && form.elements.purpose ? keepDraft(form) : null;
  const box = el('div', 'send-status');
  box.setAttribute('role', 'status');
  form.append(box);

  // The answer replaces <main> (flash messages in it); redirected means saved. Lost: offer a retry.
  function send(data, buttons) {
    const xhr = new XMLHttpRequest(), bar = el('progress'), text = el('span', '', say.sending);
    const busy = on => buttons.forEach(b => { b.disabled = on; });
    const failed = () => {
      const msg = el('p', 'flash flash-error', say.failed);
      const again = el('button', 'button primary wide', say.retry);
      busy(false);
      msg.setAttribute('role', 'alert');
      again.addEventListener('click', () => send(data, buttons));
      box.replaceChildren(msg, again);
      again.focus();
    };
    box.replaceChildren(bar, text);
    busy(true);
    xhr.open('POST', target(form).href);
    xhr.timeout = 18e4;
    xhr.upload.onprogress = e => {
      if (!e.lengthComputable) return;
      Object.assign(bar, {max: e.total, value: e.loaded});
      text.textContent = say.progress.replace('{pct}', Math.round(100 * e.loaded / e.total));
    };
    xhr.onload = () => {
      const doc = new DOMParser().parseFromString(xhr.responseText, 'text/html'), to = xhr.responseURL;
      const main = doc.querySelector('main'), here = document.querySelector('main');
      if (/\/login/.test(to)) return location.assign(to);  // logged out: the draft stays
      if (!main || !here) return failed();
      if (to !== target(form).href) {
        if (done) done();
        history.pushState(null, '', to);
      }
      document.title = doc.title;
      here.replaceWith(main);
      start();
      (main.querySelector('.error, [role=alert], h1') || main).scrollIntoView();
    };
    xhr.onerror = xhr.ontimeout = xhr.onabort = failed;
    xhr.send(data);
  }

  form.addEventListener('submit', async e => {
    const data = new FormData(form), who = e.submitter, all = [...form.elements];
    const files = all.filter(f => f.type === 'file' && f.files.length);
    e.preventDefault();
    if (who && who.name) data.append(who.name, who.value);
    if (files.length) box.textContent = say.shrinking;
    files.forEach(f => data.delete(f.name));  // pickers may share a name
    for (const f of files) for (const x of await Promise.all([...f.files].map(shrink))) data.append(f.name, x, x.name);
    send(data, all.filter(b => b.type === 'submit'));
  });
}

addEventListener('popstate', () => location.reload());
const start = () => document.querySelectorAll('main form[method=post]:not([data-plain])').forEach(enhance);
window.SanziForm = {shrink};
start();
})();
