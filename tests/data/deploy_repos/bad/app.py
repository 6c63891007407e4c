DATABASE_URL = "postgresql://app@db.internal/app"  # hard-coded: the same in every environment
print(DATABASE_URL)
