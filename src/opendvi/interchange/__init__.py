"""Moving records in and out of OpenDVI: CSV import, CSV and JSON export."""
