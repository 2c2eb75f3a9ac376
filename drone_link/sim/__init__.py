"""A simulated ArduCopter (MAVLink 2 over UDP) for tests and demos."""

from drone_link.sim.config import SimConfig
from drone_link.sim.vehicle import SimVehicle

__all__ = ["SimConfig", "SimVehicle"]
