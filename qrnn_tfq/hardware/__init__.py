"""Hardware-native QRNN: devices, noise, cells and the noisy engine (docs/HARDWARE.md)."""
