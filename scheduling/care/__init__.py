"""産後ケア bookings: requests checked against the rules, providers and their places on a day, each
booking's history, and the lists and facts staff decide with."""
