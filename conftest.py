"""Settings every test session of the workspace shares, whichever package's tests it runs.

Hypothesis measures each example against a deadline (200 ms by default) and flags slow data generation. On a loaded
2-core machine, or a CI runner sharing its cores, a shared-memory or file-system example now and then takes longer
for reasons that have nothing to do with the code under test, which made property tests fail at random. Timing
belongs in the benchmarks (scripts/), so the profile loaded here drops both timing checks; every other check of
hypothesis stays.
"""

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the meta-package's own environment has no hypothesis and no property tests
    pass
else:
    settings.register_profile(
        "workspace", deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
    )
    settings.load_profile("workspace")
