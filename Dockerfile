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
# Migrations run on start (idempotent; concurrent replicas serialise on PostgreSQL's lock).
CMD ["sh", "-c", "python manage.py migrate --noinput && exec python -m messenger.server -b 0.0.0.0 -p 8000 --proxy-headers messenger.asgi:application"]
