// The 利用申請 form: LIFF init, her ID token in every request, the draft saved as she goes, the server's
// problems shown beside each field. No inline script (the page's CSP): texts come from #texts.
(function () {
  "use strict";
  var body = document.body, api = body.dataset.api, language = body.dataset.language;
  var texts = JSON.parse(document.getElementById("texts").textContent);
  var form = document.getElementById("form"), notice = document.getElementById("notice");
  var saveState = document.getElementById("save-state"), submitButton = document.getElementById("submit");
  var idToken = null, draftToken = null, saveTimer = null, saving = null, lastAuto = "";

  function $(id) { return document.getElementById(id); }
  function say(message) { notice.textContent = message; notice.hidden = !message; if (message) { notice.scrollIntoView({block: "center"}); } }
  function headers(write) {
    var h = {"Authorization": "Bearer " + idToken, "X-Hagukumi-Language": language};
    if (write) { h["Content-Type"] = "application/json"; h["X-Draft-Token"] = draftToken || ""; }
    return h;
  }

  function values() {
    var data = {care_types: [], consent: false};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name) { return; }
      if (el.name === "care_types") { if (el.checked) { data.care_types.push(el.value); } }
      else if (el.name === "consent") { data.consent = el.checked; }
      else if (el.type === "radio") { if (el.checked) { data[el.name] = el.value; } }
      else { data[el.name] = el.value; }
    });
    return data;
  }

  function fill(data) {
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || !(el.name in data)) { return; }
      var value = data[el.name];
      if (el.name === "care_types") { el.checked = (value || []).indexOf(el.value) >= 0; }
      else if (el.name === "consent") { el.checked = value === true; }
      else if (el.type === "radio") { el.checked = value === el.value; }
      else { el.value = value; }
    });
    showBaby();
  }

  function showBaby() {
    var born = (form.querySelector("input[name=baby_born]:checked") || {}).value;
    $("when-pregnant").hidden = born !== "no";
    $("born-only").hidden = born === "no";
    $("when-born").hidden = !born;
    $("h-baby_name").hidden = born !== "no";
  }

  function clearProblems() {
    Array.prototype.forEach.call(document.querySelectorAll(".error"), function (el) { el.hidden = true; el.textContent = ""; });
    Array.prototype.forEach.call(document.querySelectorAll("[aria-invalid]"), function (el) { el.removeAttribute("aria-invalid"); });
    Array.prototype.forEach.call(document.querySelectorAll(".field.invalid"), function (el) { el.classList.remove("invalid"); });
    $("summary").hidden = true;
  }

  function showProblems(problems, message) {
    clearProblems();
    var first = null;
    Object.keys(problems).forEach(function (name) {
      var error = $("e-" + name), box = $("f-" + name);
      if (!error) { return; }
      error.textContent = problems[name]; error.hidden = false;
      if (box) { box.classList.add("invalid"); first = first || box; }
      var input = form.querySelector("[name=" + name + "]");
      if (input) { input.setAttribute("aria-invalid", "true"); }
    });
    $("summary").textContent = message; $("summary").hidden = false;
    var target = first ? first.querySelector("input") : null;
    if (first) { first.scrollIntoView({block: "center"}); }
    if (target) { target.focus({preventScroll: true}); }
  }

  function save() {
    clearTimeout(saveTimer); saveTimer = null;
    if (!draftToken) { return Promise.resolve(); }
    saveState.textContent = texts.saving;
    saving = fetch(api + "/application/draft", {method: "PUT", headers: headers(true), body: JSON.stringify({values: values()})})
      .then(function (response) {
        if (response.ok) { saveState.textContent = texts.saved; return; }
        return response.json().then(function (data) { saveState.textContent = ""; say(data.message || texts.save_failed); });
      })
      .catch(function () { saveState.textContent = texts.save_failed; });
    return saving;
  }
  function saveSoon() { clearTimeout(saveTimer); saveTimer = setTimeout(save, 1200); }

  function lookUpPostal() {
    var digits = ($("postal_code").value || "").replace(/[０-９]/g, function (c) { return String.fromCharCode(c.charCodeAt(0) - 0xFEE0); }).replace(/[^0-9]/g, "");
    if (digits.length !== 7) { return; }
    fetch(api + "/postal/" + digits).then(function (response) { return response.ok ? response.json() : null; }).then(function (data) {
      if (!data || !data.address) { return; }
      var address = $("address");
      if (!address.value || address.value === lastAuto) {
        address.value = data.address; lastAuto = data.address;
        $("postal-found").textContent = texts.postal_found; $("postal-found").hidden = false;
        saveSoon();
      }
    }).catch(function () {});
  }

  function finished(data) {
    form.hidden = true;
    $("done-title").textContent = data.state === "approved" ? texts.approved_title : texts.submitted_title;
    $("done-text").textContent = data.state === "approved" ? (data.period || [""])[0] : texts.submitted_text;
    $("done").hidden = false;
    window.scrollTo(0, 0);
  }

  function submit(event) {
    event.preventDefault();
    clearTimeout(saveTimer);
    submitButton.disabled = true; submitButton.textContent = texts.sending; say("");
    fetch(api + "/application/submit", {method: "POST", headers: headers(true), body: JSON.stringify({values: values()})})
      .then(function (response) {
        return response.json().then(function (data) {
          if (response.ok) { finished(data); }
          else if (response.status === 422) { showProblems(data.problems || {}, data.message); }
          else { say(data.message || texts.unavailable); }
        });
      })
      .catch(function () { say(texts.unavailable); })
      .then(function () { submitButton.disabled = false; submitButton.textContent = texts.submit; });
  }

  function start(data) {
    $("loading").hidden = true;
    if (data.state === "submitted" || data.state === "approved") { finished(data); return; }
    draftToken = data.draft_token;
    fill(data.values || {});
    $("prefilled").hidden = !(data.prefilled && data.prefilled.length);
    if (data.return_reason) { $("returned").textContent = texts.returned.replace("{reason}", data.return_reason); $("returned").hidden = false; }
    form.hidden = false;
    form.addEventListener("input", function (event) { if (event.target.name === "postal_code") { lookUpPostal(); } saveSoon(); });
    form.addEventListener("change", function (event) { if (event.target.name === "baby_born") { showBaby(); } save(); });
    form.addEventListener("submit", submit);
    document.addEventListener("visibilitychange", function () { if (document.visibilityState === "hidden" && saveTimer) { save(); } });
  }

  $("close").addEventListener("click", function () { liff.closeWindow(); });

  function begin() {
    if (typeof liff === "undefined") { $("loading").hidden = true; say(texts.missing); return; }
    liff.init({liffId: body.dataset.liffId}).then(function () {
      if (!liff.isLoggedIn()) { liff.login({redirectUri: location.href}); return; }
      idToken = liff.getIDToken();
      if (!idToken) { $("loading").hidden = true; say(texts.missing); return; }
      return fetch(api + "/application", {headers: headers(false)}).then(function (response) {
        return response.json().then(function (data) {
          if (response.ok) { start(data); } else { $("loading").hidden = true; say(data.message || texts.unavailable); }
        });
      });
    }).catch(function () { $("loading").hidden = true; say(texts.unavailable); });
  }
  begin();
}());
