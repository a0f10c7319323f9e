#!/usr/bin/env python3
"""Generate golden vectors for `rampart_core::signing` from the real Python stack.

Every token below is minted by Python itsdangerous 2.2 (directly, or through Flask-Security-Too's
own `UserMixin.get_auth_token` and Flask-WTF's `generate_csrf`), with the clock frozen so that the
Rust tests can reproduce the same token byte for byte.

Usage (from the repository root):

    python3 tools/vectors/gen_signing_vectors.py \
        [crates/rampart-core/tests/vectors/signing_vectors.json]

Requirements: itsdangerous==2.2.0, Flask-Security-Too==5.9.2, Flask-WTF, Flask-SQLAlchemy.
The output is deterministic: re-running it gives the same file.
"""

from __future__ import annotations

import json
import os
import sys
import time
import zlib
from contextlib import contextmanager
from importlib.metadata import version
from unittest import mock

import itsdangerous
from itsdangerous import URLSafeSerializer, URLSafeTimedSerializer

# Fixed clock: 2024-11-23T05:47:58.123456Z (a float with a fractional part, like time.time()).
NOW = 1732340878.123456
TS = int(NOW)

PRIMARY = "rampart-test-secret-key-0123456789abcdef"
FALLBACK = "rampart-old-secret-key-fedcba9876543210"
UNICODE_SECRET = "clé secrète – 秘密 🔑"
UNIQ = "5c0e0b5d4e7f4b4b9c6f7a1d2e3f4a5b"


@contextmanager
def frozen(at: float):
    """Freeze time.time() for itsdangerous, Flask-Security and Flask-WTF alike."""
    with mock.patch("time.time", return_value=at):
        yield


def compact(obj) -> str:
    # Exactly what itsdangerous' _CompactJSON does.
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def is_compressed(token: str) -> bool:
    return token.startswith(".")


def vector(name, *, kind, primary, fallbacks, signing_key, salt, payload, token, timestamp,
           source, note=""):
    payload_json = compact(payload)
    return {
        "name": name,
        "kind": kind,  # "timed" (URLSafeTimedSerializer) or "untimed" (URLSafeSerializer)
        "source": source,
        "primary": primary,  # SECRET_KEY
        "fallbacks": fallbacks,  # SECRET_KEY_FALLBACKS
        "signing_key": signing_key,  # the key itsdangerous actually signed with
        "salt": salt,
        "payload_json": payload_json,  # compact JSON exactly as itsdangerous serialised it
        "compressed": is_compressed(token),
        "token": token,
        "timestamp": timestamp,  # signed issue time (int seconds), null when untimed
        "note": note,
    }


def timed(name, payload, salt, *, keys=(PRIMARY,), primary=PRIMARY, fallbacks=(), at=NOW,
          note=""):
    s = URLSafeTimedSerializer(list(keys), salt=salt)
    with frozen(at):
        token = s.dumps(payload)
    # Round-trip through Python itself before we trust the vector.
    with frozen(at):
        assert s.loads(token, max_age=60, salt=salt) == payload
    return vector(name, kind="timed", primary=primary, fallbacks=list(fallbacks),
                  signing_key=keys[-1], salt=salt, payload=payload, token=token,
                  timestamp=int(at), source="itsdangerous.URLSafeTimedSerializer", note=note)


def untimed(name, payload, salt, *, keys=(PRIMARY,), primary=PRIMARY, fallbacks=(), note=""):
    s = URLSafeSerializer(list(keys), salt=salt)
    token = s.dumps(payload)
    assert s.loads(token) == payload
    return vector(name, kind="untimed", primary=primary, fallbacks=list(fallbacks),
                  signing_key=keys[-1], salt=salt, payload=payload, token=token, timestamp=None,
                  source="itsdangerous.URLSafeSerializer", note=note)


def flask_security_auth_tokens():
    """Real `UserMixin.get_auth_token()` output from a minimal Flask-Security app."""
    from flask import Flask
    from flask_security import Security, SQLAlchemyUserDatastore
    from flask_security.models import fsqla_v3 as fsqla
    from flask_sqlalchemy import SQLAlchemy

    out = []
    for name, fallbacks in (("fs_auth_token_v5", None), ("fs_auth_token_v5_with_fallbacks",
                                                         [FALLBACK])):
        app = Flask(__name__)
        app.config.update(
            SECRET_KEY=PRIMARY,
            SECURITY_PASSWORD_SALT="rampart-test-salt",
            SQLALCHEMY_DATABASE_URI="sqlite://",
            SQLALCHEMY_TRACK_MODIFICATIONS=False,
            SECURITY_TOKEN_EXPIRE_TIMESTAMP=lambda user: TS + 3600,
        )
        if fallbacks:
            app.config["SECRET_KEY_FALLBACKS"] = fallbacks
        db = SQLAlchemy(app)
        fsqla.FsModels.set_db_info(db)

        class Role(db.Model, fsqla.FsRoleMixin):
            pass

        class User(db.Model, fsqla.FsUserMixin):
            pass

        ds = SQLAlchemyUserDatastore(db, User, Role)
        Security(app, ds)
        with app.app_context():
            db.create_all()
            user = ds.create_user(email="alice@example.com", password=None, fs_uniquifier=UNIQ)
            db.session.commit()
            with frozen(NOW):
                token = user.get_auth_token()
            ser = app.extensions["security"].remember_token_serializer
            with frozen(NOW):
                data, issued = ser.loads(token, max_age=900, return_timestamp=True)
        assert int(issued.timestamp()) == TS
        assert list(data) == ["ver", "uid", "fs_paa", "exp"], data
        keys = [PRIMARY] + (fallbacks or [])
        note = "Flask-Security UserMixin.get_auth_token()"
        if fallbacks:
            note += ("; itsdangerous signs with the LAST key of [SECRET_KEY] + "
                     "SECRET_KEY_FALLBACKS, i.e. the fallback")
        out.append(vector(name, kind="timed", primary=PRIMARY, fallbacks=fallbacks or [],
                          signing_key=keys[-1], salt="remember-salt", payload=data, token=token,
                          timestamp=TS, source="flask_security.UserMixin.get_auth_token",
                          note=note))
    return out


def flask_wtf_csrf():
    """Real `flask_wtf.csrf.generate_csrf()` output."""
    from flask import Flask, session
    from flask_wtf.csrf import generate_csrf

    app = Flask(__name__)
    app.config.update(SECRET_KEY=PRIMARY)
    # generate_csrf draws its raw value from os.urandom: make it deterministic.
    with mock.patch("os.urandom", return_value=b"\x42" * 64):
        with app.test_request_context("/"):
            with frozen(NOW):
                token = generate_csrf()
            raw = session["csrf_token"]
    assert len(raw) == 40 and all(c in "0123456789abcdef" for c in raw)
    return vector("flask_wtf_csrf_token", kind="timed", primary=PRIMARY, fallbacks=[],
                  signing_key=PRIMARY, salt="wtf-csrf-token", payload=raw, token=token,
                  timestamp=TS, source="flask_wtf.csrf.generate_csrf",
                  note="session['csrf_token'] is the 40-hex payload")


def main() -> None:
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    default_out = os.path.join(root, "crates", "rampart-core", "tests", "vectors",
                               "signing_vectors.json")
    out_path = sys.argv[1] if len(sys.argv) > 1 else default_out

    long_payload = {
        "ver": "5",
        "uid": UNIQ,
        "fs_paa": NOW,
        "exp": 0,
        "roles": ["admin", "editor", "viewer"] * 20,
        "note": "lorem ipsum dolor sit amet " * 10,
    }
    assert len(zlib.compress(compact(long_payload).encode())) < len(compact(long_payload)) - 1

    vectors = [
        timed("short_login_list", [UNIQ], "login-salt",
              note="passwordless login token payload [fs_uniquifier]"),
        timed("confirm_token", [UNIQ, "$5$rounds=535000$abcdefgh$0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZab"],
              "confirm-salt", note="[fs_uniquifier, hash_data(email)]"),
        timed("reset_token_null_hash", [UNIQ, None], "reset-salt",
              note="[fs_uniquifier, None] (user without password)"),
        timed("tf_validity_token", UNIQ, "tf-validity-salt",
              note="payload is the bare fs_uniquifier string"),
        timed("long_payload_zlib", long_payload, "remember-salt",
              note="zlib makes it shorter: leading '.'"),
        timed("unicode_payload", {"name": "Zoë Ünïcødé", "jp": "日本語", "emoji": "🎉🔑",
                                  "ctl": "tab\tnl\nquote\"bs\\del\x7fnul\x00", "ls": "\u2028"},
              "confirm-salt", note="ensure_ascii=False: raw UTF-8 in the JSON"),
        timed("python_float_repr", {"a": 0.1, "b": 1e16, "c": 1.5e-07, "d": -0.0, "e": 1e300,
                                    "f": 123456789012345680000.0, "g": 2.5, "h": 1e-05,
                                    "i": 12345678901234567.0, "j": 0.0001},
              "confirm-salt", note="floats rendered with Python repr() rules"),
        timed("edge_values", {"empty_str": "", "empty_list": [], "empty_obj": {}, "null": None,
                              "t": True, "f": False, "neg": -42, "big": 2**63 - 1},
              "confirm-salt"),
        timed("unicode_secret", [UNIQ], "reset-salt", keys=(UNICODE_SECRET,),
              primary=UNICODE_SECRET, note="secret key with non-ASCII characters (UTF-8)"),
        timed("fs_auth_token_v4_legacy", [UNIQ], "remember-salt",
              note="legacy Flask-Security auth token: a 1-element list [fs_uniquifier]"),
        timed("fs_auth_token_v3_legacy", ["1", "b2d2e8a3f1c44c0bb0a3b5f5f2c1d9e8", UNIQ],
              "remember-salt",
              note="legacy Flask-Security auth token: 3-element list, uniquifier at index 2"),
        timed("signed_by_fallback_key", [UNIQ], "reset-salt", keys=(FALLBACK,),
              primary=PRIMARY, fallbacks=[FALLBACK],
              note="minted before key rotation; verifies only through SECRET_KEY_FALLBACKS"),
        timed("timestamp_zero", [UNIQ], "login-salt", at=0.0,
              note="int_to_bytes(0) is empty: the timestamp segment is empty ('..')"),
        timed("timestamp_beyond_2106", [UNIQ], "login-salt", at=float(2**33 + 7),
              note="five-byte timestamp"),
        untimed("refresh_token", {"ver": "1", "uid": UNIQ, "expires_at": NOW + 90 * 86400,
                                  "last_used_at": NOW, "name": "my laptop",
                                  "family": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "gen": 3},
                "refresh-token-salt", note="Flask-Security refresh token (untimed)"),
        untimed("untimed_long_zlib", {"items": list(range(200))}, "refresh-token-salt",
                note="untimed and zlib-compressed"),
        untimed("untimed_signed_by_fallback", {"ver": "1", "uid": UNIQ, "gen": 1},
                "refresh-token-salt", keys=(FALLBACK,), primary=PRIMARY, fallbacks=[FALLBACK]),
        flask_wtf_csrf(),
        *flask_security_auth_tokens(),
    ]
    assert len({v["name"] for v in vectors}) == len(vectors)

    doc = {
        "generator": "tools/vectors/gen_signing_vectors.py",
        "itsdangerous": version("itsdangerous"),
        "flask_security_too": version("Flask-Security-Too"),
        "flask_wtf": version("Flask-WTF"),
        "zlib": zlib.ZLIB_RUNTIME_VERSION,
        "now": NOW,
        "vectors": vectors,
    }
    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=2)
        f.write("\n")
    print(f"wrote {len(vectors)} vectors to {out_path}")


if __name__ == "__main__":
    main()
