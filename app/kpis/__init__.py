"""KPI and forecast math: pure functions over plain data, no database.

history      an opportunity's path (positions reached, stays, as-of views)
incidence    Aalen-Johansen cumulative incidence; Kaplan-Meier
model        win probability, velocity and stall thresholds per process and position
conversion   milestone-to-milestone conversion with open deals censored
forecast     expected won amount per month with a P10-P90 band; the weighted pipeline
columns      the same histories as numpy columns, and the math over them
derived      per opportunity at one instant: position, win probability, stall, monthly P(won)
progress     progress value of milestone advances
accuracy     WAPE
"""
