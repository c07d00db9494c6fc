"""Realistic wrong submissions, one bug each, graded by tests/grading/test_bugs.py (never imported)."""
