FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
RUN DJANGO_SECRET_KEY=build-only python manage.py collectstatic --noinput -v0

RUN useradd --create-home messenger && mkdir -p var && chown -R messenger var
USER messenger
EXPOSE 8000
# The server only: migrations run once per release before the replicas start (docker-compose.yml's
# `migrate` service, or `python manage.py migrate` as a one-off job; docs/deploy.md). Exec form, so
# the server is PID 1 and gets the SIGTERM that stops it gracefully.
CMD ["python", "-m", "messenger.server", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "messenger.asgi:application"]
