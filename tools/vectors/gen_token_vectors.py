#!/usr/bin/env python3
"""Golden auth-token vectors for `rampart::tokens`, minted by the real Flask-Security-Too 5.9.2.

Two modes:

    # Generate the vectors (deterministic: the clock is frozen).
    python3 tools/vectors/gen_token_vectors.py [crates/rampart/tests/vectors/token_vectors.json]

    # Reverse check, used by `crates/rampart/tests/tokens.rs`: read a JSON request on stdin
    # {"secret_key", "fallbacks", "fs_uniquifier", "fs_token_uniquifier" (or null),
    #  "active", "tokens": [...]}, build a Flask-Security app with that user, send each token in
    # the `Authentication-Token` header to an `@auth_token_required` view and print a JSON list
    # of {"status": <HTTP status>, "uid": <fs_uniquifier seen by the view or null>}.
    python3 tools/vectors/gen_token_vectors.py --verify < request.json

Every v5 token comes from `UserMixin.get_auth_token()` of a minimal app (`fsqla_v3` models on an
in-memory SQLite database). Legacy v4 and v3 tokens are built as Flask-Security 4.x and 3.x built
them, through the app's own `remember_token_serializer` (the same thing FS's test suite does in
`get_auth_token_version_4x` / `get_auth_token_version_3x`).

Requirements: Flask-Security-Too==5.9.2, itsdangerous==2.2.0, Flask-SQLAlchemy.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from importlib.metadata import version
from unittest import mock

# Fixed clock: 2024-11-23T05:47:58.123456Z.
NOW = 1732340878.123456
TS = int(NOW)

PRIMARY = "rampart-token-secret-0123456789abcdef"
OLD = "rampart-token-old-secret-fedcba987654"
ALICE_UNIQ = "a11ce0000000000000000000000000aa"
BOB_UNIQ = "b0b00000000000000000000000000bbb"
CAROL_UNIQ = "ca7010000000000000000000000000cc"
CAROL_TOKEN_UNIQ = "ca701700000000000000000000000c7c"
BOB_EXP = TS + 600


@contextmanager
def frozen(at: float):
    """Freeze time.time() for itsdangerous and Flask-Security alike."""
    with mock.patch("time.time", return_value=at):
        yield


def make_app(secret_key, fallbacks=None, token_uniquifier=False, expire=None):
    """A minimal Flask-Security app on an in-memory SQLite database."""
    from flask import Flask
    from flask_security import (Security, SQLAlchemyUserDatastore, auth_token_required,
                                current_user)
    from flask_security.models import fsqla_v3 as fsqla
    from flask_sqlalchemy import SQLAlchemy
    from sqlalchemy import Column, String

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=secret_key,
        SECURITY_PASSWORD_SALT="rampart-test-salt",
        SQLALCHEMY_DATABASE_URI="sqlite://",
        SQLALCHEMY_TRACK_MODIFICATIONS=False,
        TESTING=True,
    )
    if fallbacks:
        app.config["SECRET_KEY_FALLBACKS"] = list(fallbacks)
    if expire is not None:
        app.config["SECURITY_TOKEN_EXPIRE_TIMESTAMP"] = expire
    db = SQLAlchemy(app)
    fsqla.FsModels.set_db_info(db)

    class Role(db.Model, fsqla.FsRoleMixin):
        pass

    if token_uniquifier:
        class User(db.Model, fsqla.FsUserMixin):
            fs_token_uniquifier = Column(String(64), unique=True, nullable=True)
    else:
        class User(db.Model, fsqla.FsUserMixin):
            pass

    ds = SQLAlchemyUserDatastore(db, User, Role)
    Security(app, ds)

    @app.route("/protected")
    @auth_token_required
    def protected():
        return {"uid": current_user.fs_uniquifier}

    with app.app_context():
        db.create_all()
    return app, db, ds


def add_user(app, db, ds, email, uniq, token_uniq=None, active=True):
    with app.app_context():
        kwargs = {"fs_uniquifier": uniq}
        if token_uniq is not None:
            kwargs["fs_token_uniquifier"] = token_uniq
        ds.create_user(email=email, password=None, active=active, **kwargs)
        db.session.commit()


def issue(app, ds, email, at=NOW):
    with app.app_context():
        user = ds.find_user(email=email)
        with frozen(at):
            return user.get_auth_token()


def legacy(app, payload, at=NOW):
    with app.app_context():
        ser = app.extensions["security"].remember_token_serializer
        with frozen(at):
            return ser.dumps(payload)


def case(name, *, secret_key, fallbacks, token, uid, version_, fs_paa, exp, user, note):
    return {
        "name": name,
        "secret_key": secret_key,
        "fallbacks": fallbacks,
        "token": token,
        "issued_at": TS,
        "expected": {"uid": uid, "version": version_, "fs_paa": fs_paa, "exp": exp},
        "user": user,
        "note": note,
    }


def generate():
    out = []
    alice = {"fs_uniquifier": ALICE_UNIQ, "fs_token_uniquifier": None}
    bob = {"fs_uniquifier": BOB_UNIQ, "fs_token_uniquifier": None}
    carol = {"fs_uniquifier": CAROL_UNIQ, "fs_token_uniquifier": CAROL_TOKEN_UNIQ}

    # 1. Plain app; SECURITY_TOKEN_EXPIRE_TIMESTAMP set for bob only.
    app, db, ds = make_app(PRIMARY,
                           expire=lambda u: BOB_EXP if u.email == "bob@example.com" else 0)
    add_user(app, db, ds, "alice@example.com", ALICE_UNIQ)
    add_user(app, db, ds, "bob@example.com", BOB_UNIQ)
    out.append(case("v5", secret_key=PRIMARY, fallbacks=[], token=issue(app, ds,
                    "alice@example.com"), uid=ALICE_UNIQ, version_=5, fs_paa=NOW, exp=None,
                    user=alice, note="get_auth_token(), exp 0"))
    out.append(case("v5_exp", secret_key=PRIMARY, fallbacks=[], token=issue(app, ds,
                    "bob@example.com"), uid=BOB_UNIQ, version_=5, fs_paa=NOW, exp=BOB_EXP,
                    user=bob, note="get_auth_token() with SECURITY_TOKEN_EXPIRE_TIMESTAMP"))
    out.append(case("v4", secret_key=PRIMARY, fallbacks=[], token=legacy(app, [ALICE_UNIQ]),
                    uid=ALICE_UNIQ, version_=4, fs_paa=None, exp=None, user=alice,
                    note="legacy 4.x token: [fs_uniquifier]"))
    out.append(case("v3", secret_key=PRIMARY, fallbacks=[],
                    token=legacy(app, ["1", "5f4dcc3b5aa765d61d8327deb882cf99", ALICE_UNIQ]),
                    uid=ALICE_UNIQ, version_=3, fs_paa=None, exp=None, user=alice,
                    note="legacy 3.x token: [id, password hash, fs_uniquifier]"))

    # 2. Key rotation: the app has SECRET_KEY_FALLBACKS; itsdangerous signs with the fallback.
    app, db, ds = make_app(PRIMARY, fallbacks=[OLD])
    add_user(app, db, ds, "alice@example.com", ALICE_UNIQ)
    out.append(case("v5_app_with_fallbacks", secret_key=PRIMARY, fallbacks=[OLD],
                    token=issue(app, ds, "alice@example.com"), uid=ALICE_UNIQ, version_=5,
                    fs_paa=NOW, exp=None, user=alice,
                    note="app with SECRET_KEY_FALLBACKS: signed with the LAST key (the fallback)"))

    # 3. A token of the old app (SECRET_KEY=OLD) still accepted via the fallback.
    app, db, ds = make_app(OLD)
    add_user(app, db, ds, "alice@example.com", ALICE_UNIQ)
    out.append(case("v5_old_key", secret_key=PRIMARY, fallbacks=[OLD],
                    token=issue(app, ds, "alice@example.com"), uid=ALICE_UNIQ, version_=5,
                    fs_paa=NOW, exp=None, user=alice,
                    note="minted before rotation with SECRET_KEY=OLD; verify with fallback"))

    # 4. A model with fs_token_uniquifier: uid is the token uniquifier.
    app, db, ds = make_app(PRIMARY, token_uniquifier=True)
    add_user(app, db, ds, "carol@example.com", CAROL_UNIQ, CAROL_TOKEN_UNIQ)
    out.append(case("v5_token_uniquifier", secret_key=PRIMARY, fallbacks=[],
                    token=issue(app, ds, "carol@example.com"), uid=CAROL_TOKEN_UNIQ,
                    version_=5, fs_paa=NOW, exp=None, user=carol,
                    note="User model with fs_token_uniquifier"))
    return out


def verify(request):
    from flask_security.utils import parse_auth_token  # noqa: F401 (import check)

    app, db, ds = make_app(request["secret_key"], fallbacks=request.get("fallbacks") or None,
                           token_uniquifier="fs_token_uniquifier" in request)
    add_user(app, db, ds, "rust@example.com", request["fs_uniquifier"],
             request.get("fs_token_uniquifier"), active=request.get("active", True))
    client = app.test_client()
    results = []
    for token in request["tokens"]:
        resp = client.get("/protected", headers={"Authentication-Token": token,
                                                  "Accept": "application/json"})
        body = resp.get_json(silent=True) or {}
        results.append({"status": resp.status_code, "uid": body.get("uid")})
    return results


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--verify":
        json.dump(verify(json.load(sys.stdin)), sys.stdout)
        return
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        "crates", "rampart", "tests", "vectors", "token_vectors.json")
    doc = {
        "generator": "tools/vectors/gen_token_vectors.py",
        "versions": {
            "flask_security_too": version("Flask-Security-Too"),
            "itsdangerous": version("itsdangerous"),
        },
        "salt": "remember-salt",
        "default_max_age_seconds": 900,
        "cases": generate(),
    }
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {len(doc['cases'])} cases to {path}")


if __name__ == "__main__":
    main()
