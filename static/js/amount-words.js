/* The amount in words (大写, or English words on an English page) under the amount while it is typed
   (issue 16). The same rules as finance/money.py parse_amount, to_capital and to_words_en, which render
   it on the server when the form is shown (tests/browser/test_amount_words.py compares the two on
   thousands of amounts). Whole cents as BigInt: never a float. Chrome 67+. */
(() => {
'use strict';
const say = document.currentScript.dataset;  // form.html: data-lang, data-label
const DIGITS = '零壹贰叁肆伍陆柒捌玖', SMALL = ['', '拾', '佰', '仟'], GROUP = ['', '万', '亿', '万亿'];

// parse_amount: the typed text as whole cents, or null when the server would refuse it. Stripped of what
// Python's str.strip() strips (not quite String.trim's set).
const SPACE = '[\\t-\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const EDGES = new RegExp(`^${SPACE}+|${SPACE}+$`, 'g'), strip = s => s.replace(EDGES, '');
function cents(text, max) {
  let raw = strip(text.replace(/[０-９．－]/g, c => String.fromCharCode(c.charCodeAt(0) - 0xfee0)));
  raw = strip(raw.replace(/[,，¥￥元]/g, ''));
  if (!/^[0-9]+(\.[0-9]{1,2})?$/.test(raw)) return null;
  const [whole, part = ''] = raw.split('.');
  if (whole.replace(/^0+/, '').length > 13) return null;
  const value = BigInt(whole) * 100n + BigInt((part + '00').slice(0, 2));
  return value > 0n && (max === null || value <= max) ? value : null;
}

// to_capital
function group(n) {  // 1..9999, without its group unit
  let out = '', zero = false;
  [...String(n).padStart(4, '0')].forEach((ch, i) => {
    if (ch === '0') { zero = out !== ''; return; }
    if (zero) { out += '零'; zero = false; }
    out += DIGITS[+ch] + SMALL[3 - i];
  });
  return out;
}
function integer(n) {  // 0 < n < 10^16
  const groups = [];
  for (; n > 0n; n /= 10000n) groups.push(Number(n % 10000n));
  let out = '', zero = false;
  for (let i = groups.length - 1; i >= 0; i--) {
    if (groups[i] === 0) { zero = out !== ''; continue; }
    if (out && (zero || groups[i] < 1000)) out += '零';
    zero = false;
    out += group(groups[i]) + GROUP[i];
  }
  return out;
}
function capital(c) {
  const yuan = c / 100n, rest = Number(c % 100n), jiao = Math.floor(rest / 10), fen = rest % 10;
  let out = yuan ? integer(yuan) + '元' : '';
  if (!jiao && !fen) out += yuan ? '整' : '零元整';
  else if (!jiao) out += (yuan ? '零' : '') + DIGITS[fen] + '分';
  else out += (yuan && yuan % 10n === 0n ? '零' : '') + DIGITS[jiao] + '角' + (fen ? DIGITS[fen] + '分' : '整');
  return '人民币' + out;
}

// to_words_en
const ONES = ('zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen ' +
  'sixteen seventeen eighteen nineteen').split(' ');
const TENS = ',,twenty,thirty,forty,fifty,sixty,seventy,eighty,ninety'.split(',');
const SCALES = ['', 'thousand', 'million', 'billion', 'trillion'];
function hundreds(n) {
  const out = [], h = Math.floor(n / 100), rest = n % 100;
  if (h) out.push(ONES[h], 'hundred');
  if (rest >= 20) out.push(TENS[Math.floor(rest / 10)] + (rest % 10 ? '-' + ONES[rest % 10] : ''));
  else if (rest) out.push(ONES[rest]);
  return out;
}
function words(n) {  // BigInt >= 0
  if (n === 0n) return 'zero';
  const out = [], top = SCALES.length - 1;
  for (let s = top; s >= 0; s--) {
    let g = n / 1000n ** BigInt(s);
    if (s < top) g %= 1000n;
    if (!g) continue;
    out.push(...(g < 1000n ? hundreds(Number(g)) : [words(g)]));
    if (SCALES[s]) out.push(SCALES[s]);
  }
  return out.join(' ');
}
function english(c) {
  const yuan = c / 100n, fen = c % 100n;
  let out = yuan && fen ? `${words(yuan)} yuan and ${words(fen)} fen`
    : fen ? `${words(fen)} fen` : `${words(yuan)} yuan only`;
  out = out[0].toUpperCase() + out.slice(1);
  return 'RMB ' + out;
}

const inWords = c => (say.lang === 'en' ? english(c) : capital(c));

function show(input) {
  const out = document.getElementById(input.dataset.words);
  if (!out) return;
  const max = input.dataset.max ? cents(input.dataset.max, null) : null;
  const c = cents(input.value, max);
  out.hidden = c === null;
  out.textContent = c === null ? '' : say.label + inWords(c);
}
const all = () => document.querySelectorAll('input[data-words]').forEach(show);

document.addEventListener('input', e => { if (e.target.matches('input[data-words]')) show(e.target); });
document.addEventListener('click', () => setTimeout(all));  // a draft restored or discarded (request-form.js)
window.SanziAmount = {cents, capital, english};
all();
})();
