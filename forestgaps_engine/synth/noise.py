"""Spectral synthesis of random fields whose scales are set in metres, not pixels.

Every field is white noise shaped in the Fourier domain by a power law over a band of
wavelengths given in metres, so a 0.5 m and a 2 m raster of the same extent hold fields
of the same character.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from scipy import ndimage

FFT_WORKERS = 2
# Extra margin synthesised on each axis, as a share of its length, then cropped.
PAD_FRACTION = 0.25


def _frequency_cpm(
    shape_px: tuple[int, int], resolution_m: float, stretch: float = 1.0, angle_rad: float = 0.0
) -> np.ndarray:
    """|f| in cycles per metre on the full (not half) FFT grid, shape (H, W), float32.

    ``stretch`` > 1 stretches space along ``angle_rad`` (elongated features).
    """
    fy = scipy.fft.fftfreq(shape_px[0], d=resolution_m).astype(np.float32)[:, None]
    fx = scipy.fft.fftfreq(shape_px[1], d=resolution_m).astype(np.float32)[None, :]
    if stretch == 1.0:
        return np.sqrt(fy**2 + fx**2)
    cos_a, sin_a = np.float32(np.cos(angle_rad)), np.float32(np.sin(angle_rad))
    along = fx * cos_a + fy * sin_a
    across = -fx * sin_a + fy * cos_a
    # Features long along the axis have low frequencies along it: scale that axis up.
    return np.sqrt((along * np.float32(stretch)) ** 2 + across**2)


def spectral_fields(
    shape_px: tuple[int, int],
    resolution_m: float,
    rng: np.random.Generator,
    beta: float,
    min_wavelength_m: float,
    max_wavelength_m: float,
    stretch: float = 1.0,
    angle_rad: float = 0.0,
    per_km: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Two independent zero-mean power-law fields from one complex FFT.

    The power spectrum is ``|f| ** -beta`` between ``1 / max_wavelength_m`` and
    ``1 / min_wavelength_m`` and rolls off smoothly outside. The field is synthesised on a
    padded grid and cropped, so its periodicity does not show at the edges.

    Args:
        shape_px: (H, W) of the output.
        resolution_m: cell size in metres.
        rng: source of randomness.
        beta: spectral exponent (2 = Brownian surface, 3 = smooth hills).
        min_wavelength_m: shortest feature size kept.
        max_wavelength_m: longest feature size kept.
        stretch: elongation of features along ``angle_rad`` (1 = isotropic).
        angle_rad: direction of elongation, radians from the x axis.
        per_km: False: each field is scaled to std 1 over this raster. True: scaled so the
            std is 1 over a 1 km x 1 km area, so smaller rasters hold less relief and
            larger ones more, as a real landscape does.

    Returns:
        Two (H, W) float32 fields of mean 0.
    """
    height_px, width_px = shape_px
    # Features >= 4 cells wide survive bilinear upsampling: synthesise coarse, then zoom.
    factor = max(1, int(min_wavelength_m / (4.0 * resolution_m)))
    factor = min(factor, max(1, min(height_px, width_px) // 16))
    if factor > 1:
        coarse_shape = (-(-height_px // factor) + 1, -(-width_px // factor) + 1)
        fields = spectral_fields(
            coarse_shape,
            resolution_m * factor,
            rng,
            beta,
            min_wavelength_m,
            max_wavelength_m,
            stretch,
            angle_rad,
            per_km,
        )
        return tuple(  # type: ignore[return-value]
            ndimage.zoom(field, factor, order=1, grid_mode=True, mode="nearest")[
                :height_px, :width_px
            ]
            for field in fields
        )
    # Wrap-around only shows within about one longest wavelength of the edges.
    pad_px = max_wavelength_m * max(stretch, 1.0) / resolution_m
    padded = (
        scipy.fft.next_fast_len(int(height_px + min(PAD_FRACTION * height_px, pad_px)) + 1),
        scipy.fft.next_fast_len(int(width_px + min(PAD_FRACTION * width_px, pad_px)) + 1),
    )
    frequency = _frequency_cpm(padded, resolution_m, stretch, angle_rad)
    spectrum = rng.standard_normal(padded, dtype=np.float32) + 1j * rng.standard_normal(
        padded, dtype=np.float32
    )
    spectrum *= _amplitude(frequency, beta, min_wavelength_m, max_wavelength_m)
    field = scipy.fft.ifft2(spectrum, workers=FFT_WORKERS)[:height_px, :width_px]
    if not per_km:
        return _standardise(field.real), _standardise(field.imag)
    # ifft2 divides by N; the continuous process has variance sum(A^2 df^2), df^2 = 1/(N r^2).
    n_cells = padded[0] * padded[1]
    scale = np.sqrt(n_cells) / resolution_m / _km_std(beta, min_wavelength_m, max_wavelength_m)
    real = np.ascontiguousarray(field.real, dtype=np.float32) * np.float32(scale)
    imag = np.ascontiguousarray(field.imag, dtype=np.float32) * np.float32(scale)
    return real - real.mean(dtype=np.float64), imag - imag.mean(dtype=np.float64)


def _amplitude(
    frequency: np.ndarray, beta: float, min_wavelength_m: float, max_wavelength_m: float
) -> np.ndarray:
    """Power-law amplitude with Gaussian roll-offs (hard cuts would ring into stripes)."""
    low_cpm = np.float32(1.0 / max_wavelength_m)
    high_cpm = np.float32(1.0 / min_wavelength_m)
    amplitude = np.maximum(frequency, low_cpm)
    np.log(amplitude, out=amplitude)
    amplitude *= np.float32(-beta / 2.0)
    high = frequency / high_cpm
    np.square(high, out=high)
    amplitude -= high
    np.exp(amplitude, out=amplitude)
    low = frequency / low_cpm
    np.square(low, out=low)
    np.negative(low, out=low)
    np.exp(low, out=low)
    np.subtract(np.float32(1.0), low, out=low)
    amplitude *= low
    return amplitude


def _km_std(beta: float, min_wavelength_m: float, max_wavelength_m: float) -> float:
    """Std of one component of the same process over a 1 km square (continuum units)."""
    resolution_m = min(min_wavelength_m / 4.0, 4.0)
    size_px = int(round(1000.0 / resolution_m))
    frequency = _frequency_cpm((size_px, size_px), resolution_m)
    amplitude = _amplitude(frequency, beta, min_wavelength_m, max_wavelength_m)
    cell_df2 = 1.0 / (size_px * size_px * resolution_m * resolution_m)
    return float(np.sqrt(np.sum(amplitude.astype(np.float64) ** 2) * cell_df2))


def _standardise(field: np.ndarray) -> np.ndarray:
    field = np.ascontiguousarray(field, dtype=np.float32)
    # A strided sample estimates mean and std to well under 1 % on large rasters.
    step = max(1, min(field.shape) // 512)
    sample = field[::step, ::step]
    mean = float(sample.mean(dtype=np.float64))
    std = float(sample.std(dtype=np.float64))
    field -= np.float32(mean)
    if std > 0:
        field /= std
    return field


def gaussian_to_uniform(field: np.ndarray) -> np.ndarray:
    """Map a standard normal field to [0, 1] by its CDF (approximation, float32)."""
    # Logistic approximation of the normal CDF: cheap and accurate to ~1e-2.
    return (1.0 / (1.0 + np.exp(-1.702 * field))).astype(np.float32)
