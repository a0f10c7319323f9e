// Rampart WebAuthn helper: runs the browser side of /wan-register, /wan-signin and /wan-verify.
//
// Pages carry their data in an element with id "rampart-wan" (no inline script, so the default
// Content-Security-Policy holds): data-options (the JSON credential_options), data-mode
// ("create" or "get") and a form with a hidden "credential" field that is submitted with the
// authenticator's answer. Single-page applications call window.rampartWebAuthn.create(options)
// or .get(options) and post the returned JSON string as "credential" themselves.
(function () {
  "use strict";

  function b64urlDecode(s) {
    var b64 = s.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) {
      out[i] = bin.charCodeAt(i);
    }
    return out.buffer;
  }

  function b64urlEncode(buf) {
    var bytes = new Uint8Array(buf);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) {
      bin += String.fromCharCode(bytes[i]);
    }
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function decodeList(list) {
    return (list || []).map(function (c) {
      var d = { type: c.type, id: b64urlDecode(c.id) };
      if (c.transports) {
        d.transports = c.transports;
      }
      return d;
    });
  }

  function creationOptions(o) {
    var pk = Object.assign({}, o);
    pk.challenge = b64urlDecode(o.challenge);
    pk.user = Object.assign({}, o.user, { id: b64urlDecode(o.user.id) });
    pk.excludeCredentials = decodeList(o.excludeCredentials);
    return pk;
  }

  function requestOptions(o) {
    var pk = Object.assign({}, o);
    pk.challenge = b64urlDecode(o.challenge);
    pk.allowCredentials = decodeList(o.allowCredentials);
    return pk;
  }

  function credentialJson(cred) {
    var r = cred.response;
    var response = { clientDataJSON: b64urlEncode(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = b64urlEncode(r.attestationObject);
      if (typeof r.getTransports === "function") {
        response.transports = r.getTransports();
      }
    } else {
      response.authenticatorData = b64urlEncode(r.authenticatorData);
      response.signature = b64urlEncode(r.signature);
      if (r.userHandle) {
        response.userHandle = b64urlEncode(r.userHandle);
      }
    }
    return JSON.stringify({
      id: cred.id,
      rawId: b64urlEncode(cred.rawId),
      type: cred.type,
      response: response,
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: cred.getClientExtensionResults
        ? cred.getClientExtensionResults()
        : {},
    });
  }

  function create(options) {
    return navigator.credentials
      .create({ publicKey: creationOptions(options) })
      .then(credentialJson);
  }

  function get(options) {
    return navigator.credentials
      .get({ publicKey: requestOptions(options) })
      .then(credentialJson);
  }

  function run() {
    var el = document.getElementById("rampart-wan");
    if (!el || !el.dataset.options) {
      return;
    }
    var form = el.querySelector("form");
    var status = el.querySelector(".wan-status");
    var options = JSON.parse(el.dataset.options);
    var ceremony = el.dataset.mode === "create" ? create : get;
    ceremony(options)
      .then(function (json) {
        form.elements.credential.value = json;
        form.submit();
      })
      .catch(function (err) {
        if (status) {
          status.textContent = "The passkey operation did not complete: " + err.name;
        }
      });
  }

  window.rampartWebAuthn = {
    create: create,
    get: get,
    b64urlEncode: b64urlEncode,
    b64urlDecode: b64urlDecode,
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
