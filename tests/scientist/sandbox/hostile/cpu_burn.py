"""Spins on the CPU with no end, like a search loop with a wrong stopping rule."""
x = 0
while True:
    x = (x * 31 + 7) % 1_000_003
