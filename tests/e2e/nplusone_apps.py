"""Three small services written the way real ones are — Django, Flask + Flask-SQLAlchemy, FastAPI + async
SQLAlchemy — each with an N+1 list endpoint (/authors: one query per author) and a clean one
(/authors-clean: a join or prefetch), none with SQL logging configured. Generated into a temp dir by
``write_app`` (never collected by pytest); the data is seeded beforehand into a SQLite file so that
several workers can serve it."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path

AUTHORS = 8
BOOKS_PER_AUTHOR = 2

SPEC = {"openapi": "3.0.3", "info": {"title": "shop", "version": "1"}, "paths": {
    "/authors": {"get": {"operationId": "authors", "responses": {"200": {"description": "every author"}}}},
    "/authors-clean": {"get": {"operationId": "authors_clean", "responses": {"200": {"description": "same, joined"}}}}}}

DJANGO_SETTINGS = '''\
import os
SECRET_KEY = "fixture-only-not-a-secret-0123456789-abcdefghijklmnop"  # pragma: allowlist secret
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["shop"]
MIDDLEWARE = []
ROOT_URLCONF = "proj.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["SHOP_DB"]}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
'''

DJANGO_MODELS = '''\
from django.db import models


class Author(models.Model):
    name = models.CharField(max_length=50)

    class Meta:
        db_table = "authors"
        managed = False


class Book(models.Model):
    author = models.ForeignKey(Author, related_name="books", on_delete=models.CASCADE)
    title = models.CharField(max_length=50)

    class Meta:
        db_table = "books"
        managed = False
'''

DJANGO_URLS = '''\
import json
from django.http import JsonResponse
from django.urls import path

from shop.models import Author

SPEC = json.loads(%r)


def authors(request):
    return JsonResponse([{"id": a.id, "name": a.name, "books": [b.title for b in a.books.all()]}
                         for a in Author.objects.order_by("id")], safe=False)


def authors_clean(request):
    return JsonResponse([{"id": a.id, "name": a.name, "books": [b.title for b in a.books.all()]}
                         for a in Author.objects.prefetch_related("books").order_by("id")], safe=False)


def spec(request):
    return JsonResponse(SPEC)


urlpatterns = [path("authors", authors), path("authors-clean", authors_clean), path("openapi.json", spec)]
'''

DJANGO_MANAGE = '''\
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
from django.core.management import execute_from_command_line

execute_from_command_line(sys.argv)
'''

FLASK_APP = '''\
import json
import os
import sys

from flask import Flask, jsonify
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import selectinload

SPEC = json.loads(%r)
app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.environ["SHOP_DB"]
db = SQLAlchemy(app)


class Author(db.Model):
    __tablename__ = "authors"
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(50))
    books = db.relationship("Book", lazy="select")


class Book(db.Model):
    __tablename__ = "books"
    id = db.Column(db.Integer, primary_key=True)
    author_id = db.Column(db.Integer, db.ForeignKey("authors.id"))
    title = db.Column(db.String(50))


def _rows(query):
    return jsonify([{"id": a.id, "name": a.name, "books": [b.title for b in a.books]} for a in query])


@app.get("/authors")
def authors():
    return _rows(Author.query.order_by(Author.id))


@app.get("/authors-clean")
def authors_clean():
    return _rows(Author.query.options(selectinload(Author.books)).order_by(Author.id))


@app.get("/openapi.json")
def spec():
    return jsonify(SPEC)


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)
'''

FASTAPI_APP = '''\
import os

from fastapi import FastAPI
from sqlalchemy import ForeignKey, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload

engine = create_async_engine("sqlite+aiosqlite:///" + os.environ["SHOP_DB"])
Session = async_sessionmaker(engine, expire_on_commit=False)


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]
    books: Mapped[list["Book"]] = relationship()


class Book(Base):
    __tablename__ = "books"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id"))
    title: Mapped[str]


app = FastAPI(title="shop")


@app.get("/authors")
async def authors():
    async with Session() as session:
        out = []
        for author in (await session.execute(select(Author).order_by(Author.id))).scalars():
            books = (await session.execute(select(Book).where(Book.author_id == author.id))).scalars()
            out.append({"id": author.id, "name": author.name, "books": [b.title for b in books]})
        return out


@app.get("/authors-clean")
async def authors_clean():
    async with Session() as session:
        rows = (await session.execute(select(Author).options(selectinload(Author.books)).order_by(Author.id))).scalars()
        return [{"id": a.id, "name": a.name, "books": [b.title for b in a.books]} for a in rows]
'''


def seed(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE authors (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL)")
    conn.execute("CREATE TABLE books (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES authors(id), "
                 "title VARCHAR(50) NOT NULL)")
    for a in range(1, AUTHORS + 1):
        conn.execute("INSERT INTO authors VALUES (?, ?)", (a, f"author {a}"))
        for b in range(BOOKS_PER_AUTHOR):
            conn.execute("INSERT INTO books (author_id, title) VALUES (?, ?)", (a, f"book {a}.{b}"))
    conn.commit()
    conn.close()


def write_app(kind: str, root: Path) -> Path:
    """The app's directory (its repo); what to run is ``command(kind, ...)``."""
    app = root / kind
    spec = json.dumps(SPEC)
    files: dict[str, str] = {
        "django": {"manage.py": DJANGO_MANAGE, "proj/__init__.py": "", "proj/settings.py": DJANGO_SETTINGS,
                   "proj/urls.py": DJANGO_URLS % spec, "shop/__init__.py": "", "shop/models.py": DJANGO_MODELS},
        "flask": {"app.py": FLASK_APP % spec},
        "fastapi": {"app.py": FASTAPI_APP},
    }[kind]
    for name, text in files.items():
        path = app / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return app


def command(kind: str, python: str, db: Path, *, workers: int = 1) -> str:
    """The --serve command (a NAME=value prefix gives the app its database, as in a shell)."""
    env = f"SHOP_DB={db}"
    if kind == "django":
        return f"{env} {python} manage.py runserver 127.0.0.1:{{port}} --noreload"
    if kind == "flask":
        if workers > 1:
            return f"{env} {python} -m gunicorn -w {workers} -b 127.0.0.1:{{port}} app:app"
        return f"{env} {python} app.py {{port}}"
    return f"{env} {python} -m uvicorn app:app --host 127.0.0.1 --port {{port}} --workers {workers}"
