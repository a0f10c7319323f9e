"""The demo contract's /api/me, /api/public and /login on the real Flask-Security-Too 5.9.2.

The peer that `auth-bench` measures Rampart against: the same seeded users and passwords
(demo-contract.md), auth tokens in the `Authentication-Token` header, server-side checks of
`@auth_required("token", "session")`, the packaged fsqla_v3 models on a SQLite file, CSRF
as the demo configures it (session and Basic only, unauthenticated endpoints exempt).

Run under gunicorn (the bench does this itself):

    FS_DEMO_DB=/tmp/fs.db SECRET_KEY=… gunicorn --preload -w 2 -b 127.0.0.1:0 \
        --chdir tools/bench fs_demo_app:app
"""

import datetime
import os

from flask import Flask, jsonify
from flask_security import (
    Security,
    SQLAlchemyUserDatastore,
    auth_required,
    current_user,
    hash_password,
)
from flask_security.models import fsqla_v3 as fsqla
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.exc import IntegrityError

USERS = [
    ("admin@example.com", "Adm1n-correct-horse-9", "admin", True),
    ("user@example.com", "Us3r-correct-horse-9", "user", True),
    ("inactive@example.com", "Inact1ve-correct-horse-9", "user", False),
    ("shortlived@example.com", "Sh0rt-lived-horse-9", "user", True),
]

app = Flask(__name__)
app.config.update(
    SECRET_KEY=os.environ.get("SECRET_KEY", "fs-demo-secret"),
    SECURITY_PASSWORD_SALT=os.environ.get("SECURITY_PASSWORD_SALT", "fs-demo-salt"),
    SQLALCHEMY_DATABASE_URI="sqlite:///" + os.environ.get("FS_DEMO_DB", "/tmp/fs-demo.db"),
    SECURITY_TRACKABLE=True,
    SECURITY_TOKEN_MAX_AGE=4 * 3600,
    SECURITY_CSRF_PROTECT_MECHANISMS=["session", "basic"],
    SECURITY_CSRF_IGNORE_UNAUTH_ENDPOINTS=True,
    WTF_CSRF_CHECK_DEFAULT=False,
    SECURITY_EMAIL_VALIDATOR_ARGS={"check_deliverability": False},
)
db = SQLAlchemy(app)
fsqla.FsModels.set_db_info(db)


class Role(db.Model, fsqla.FsRoleMixin):
    pass


class User(db.Model, fsqla.FsUserMixin):
    pass


datastore = SQLAlchemyUserDatastore(db, User, Role)
CSRFProtect(app)
Security(app, datastore)


@app.get("/api/public")
def public():
    return jsonify(ok=True)


@app.get("/api/me")
@auth_required("token", "session")
def me():
    return jsonify(
        email=current_user.email,
        roles=sorted(r.name for r in current_user.roles),
        login_count=current_user.login_count or 0,
    )


def seed():
    """Creates the contract's users once. gunicorn runs with --preload: this runs in the master,
    and the engine's connections are dropped before the workers fork."""
    with app.app_context():
        db.create_all()
        if datastore.find_user(email="user@example.com"):
            return
        try:
            now = datetime.datetime.utcnow()
            for email, password, role, active in USERS:
                r = datastore.find_or_create_role(role)
                datastore.create_user(
                    email=email,
                    password=hash_password(password),
                    roles=[r],
                    active=active,
                    confirmed_at=now,
                )
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
        finally:
            db.engine.dispose()


seed()
