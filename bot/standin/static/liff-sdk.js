/* The local stand-in's LIFF SDK: the few calls of LINE's LIFF SDK v2 that Hagukumi's form uses. The ID
   token comes from the stand-in's /liff/{liffId} (in the address's #standin_id_token=…) and is kept for
   the tab's life, as LIFF keeps its tokens, so a reload stays logged in. */
(function () {
  "use strict";
  var KEY = "hagukumi-standin-liff:";
  var liffId = null, token = null;

  function decode(jwt) {
    try {
      var part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      var text = decodeURIComponent(Array.prototype.map.call(atob(part), function (c) {
        return "%" + ("00" + c.charCodeAt(0).toString(16)).slice(-2);
      }).join(""));
      return JSON.parse(text);
    } catch (e) { return null; }
  }

  window.liff = {
    id: null,
    ready: null,
    init: function (config) {
      liffId = (config || {}).liffId || null;
      window.liff.id = liffId;
      if (!liffId) { return Promise.reject({code: "INVALID_CONFIG", message: "liffId is required"}); }
      var found = /(?:^#|&)standin_id_token=([^&]+)/.exec(location.hash);
      if (found) {
        token = decodeURIComponent(found[1]);
        try { sessionStorage.setItem(KEY + liffId, token); } catch (e) { /* private mode: memory only */ }
        history.replaceState(null, "", location.pathname + location.search);
      } else {
        try { token = sessionStorage.getItem(KEY + liffId); } catch (e) { token = null; }
      }
      window.liff.ready = Promise.resolve();
      return Promise.resolve();
    },
    isLoggedIn: function () { return !!token; },
    login: function () {
      document.documentElement.setAttribute("data-standin-login", "needed");
      if (document.body) {
        var note = document.createElement("p");
        note.textContent = "(stand-in) Open this form from the chat: the address with ?user_id= logs you in.";
        document.body.insertBefore(note, document.body.firstChild);
      }
    },
    logout: function () { token = null; try { sessionStorage.removeItem(KEY + liffId); } catch (e) { /* */ } },
    getIDToken: function () { return token; },
    getDecodedIDToken: function () { return token ? decode(token) : null; },
    isInClient: function () { return true; },
    getOS: function () { return "web"; },
    getLanguage: function () { return navigator.language || "ja"; },
    closeWindow: function () {
      document.documentElement.setAttribute("data-liff-closed", "true");
      try { window.close(); } catch (e) { /* a tab the script did not open stays */ }
    }
  };
}());
