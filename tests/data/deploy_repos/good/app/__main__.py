from app.settings import DATABASE_URL, LOG_LEVEL

print(DATABASE_URL, LOG_LEVEL)
