from app.settings import DATABASE_URL, LOG_LEVEL

print(DATABASE_URL, LOG_LEVEL)

# uvicorn.run("app:api", port=8000, timeout_graceful_shutdown=5)
