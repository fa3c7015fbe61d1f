// The public form's proof of work (web/filing_limit.py). Over the address's plain limit the form
// comes back with a challenge; this finds a counter such that SHA-256("<challenge>:<counter>")
// begins with `data-bits` zero bits, fills it in and lets the form be sent again. No library: the
// SHA-256 of ASCII text below, its constants computed from the primes as the standard defines
// them. Without JavaScript nothing happens, and the plain limit's wait applies.
(function () {
  "use strict";
  var K = [], H = [];
  (function () {
    var n = 2, found = 0, d, prime;
    function frac(x) { return ((x - Math.floor(x)) * 4294967296) | 0; }
    while (found < 64) {
      prime = true;
      for (d = 2; d * d <= n; d++) { if (n % d === 0) { prime = false; break; } }
      if (prime) {
        if (found < 8) { H[found] = frac(Math.pow(n, 1 / 2)); }
        K[found] = frac(Math.pow(n, 1 / 3));
        found++;
      }
      n++;
    }
  })();

  function ror(x, n) { return (x >>> n) | (x << (32 - n)); }

  // The digest of ASCII `text` as eight 32-bit words.
  function sha256(text) {
    var size = text.length, words = [], w = new Array(64), h = H.slice(), i, j;
    for (i = 0; i < size; i++) { words[i >> 2] |= text.charCodeAt(i) << (24 - (i % 4) * 8); }
    words[size >> 2] |= 0x80 << (24 - (size % 4) * 8);
    var total = ((size + 8) >> 6) * 16 + 16;
    for (i = 0; i < total; i++) { words[i] = words[i] | 0; }
    words[total - 1] = size * 8;
    for (j = 0; j < total; j += 16) {
      var a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
      for (i = 0; i < 64; i++) {
        if (i < 16) {
          w[i] = words[j + i];
        } else {
          var x = w[i - 15], y = w[i - 2];
          w[i] = (w[i - 16] + (ror(x, 7) ^ ror(x, 18) ^ (x >>> 3)) + w[i - 7] +
                  (ror(y, 17) ^ ror(y, 19) ^ (y >>> 10))) | 0;
        }
        var t1 = (k + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
        var t2 = ((ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
        k = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
      }
      h[0] = (h[0] + a) | 0; h[1] = (h[1] + b) | 0; h[2] = (h[2] + c) | 0; h[3] = (h[3] + d) | 0;
      h[4] = (h[4] + e) | 0; h[5] = (h[5] + f) | 0; h[6] = (h[6] + g) | 0; h[7] = (h[7] + k) | 0;
    }
    return h;
  }

  function solve(box) {
    var form = box.closest("form");
    var challenge = box.querySelector("[name=proof_challenge]").value;
    var answer = box.querySelector("[name=proof]");
    var status = box.querySelector("[data-proof-status]");
    var shift = 32 - Math.min(32, parseInt(box.dataset.bits, 10) || 32);
    var button = form && form.querySelector("button[type=submit]");
    var counter = 0;
    box.hidden = false;
    status.textContent = box.dataset.working;
    if (button) { button.disabled = true; }
    (function step() {  // in slices, so that the page stays responsive
      for (var end = counter + 20000; counter < end; counter++) {
        if ((sha256(challenge + ":" + counter)[0] >>> shift) === 0) {
          answer.value = String(counter);
          status.textContent = box.dataset.done;
          if (button) { button.disabled = false; }
          return;
        }
      }
      setTimeout(step, 0);
    })();
  }

  function start() {
    document.querySelectorAll("[data-proof]").forEach(function (box) {
      if (!box.dataset.started) { box.dataset.started = "1"; solve(box); }
    });
  }
  document.addEventListener("DOMContentLoaded", start);
  document.addEventListener("htmx:afterSettle", start);
})();
