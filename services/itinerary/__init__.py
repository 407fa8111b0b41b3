"""The itinerary service: 14-day stays of 4 hours or more, and risk areas over time."""
