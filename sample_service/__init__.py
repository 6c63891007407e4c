"""sample_service: a reference production-ready FastAPI service.

It is backend-auditor's demo target and test bed: the clean service passes every check, and seeded
defects (``SAMPLE_DEFECTS=name,...``, see :mod:`sample_service.defects`) make specific detectors fire.
"""

__version__ = "1.0.0"
