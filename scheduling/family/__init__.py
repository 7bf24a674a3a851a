"""Pregnancies and births (mothers), link codes from the interview, the 32-week call list, and
the finished 産後ケア screenings."""
