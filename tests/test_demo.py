import json

import rasterio
from PIL import Image

from forestgaps_engine.cli.main import main


def test_demo_writes_geotiff_geopackage_and_quicklook(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(out / "quicklook.png") in printed
    with rasterio.open(out / "gaps_t5.tif") as dataset:
        assert dataset.crs.to_epsg() == 2154
        assert dataset.read(1).max() > 0
    assert (out / "gaps_t5.gpkg").stat().st_size > 0
    with Image.open(out / "quicklook.png") as image:
        assert image.size == (512, 512)
    summary = json.loads((out / "summary.json").read_text())
    assert summary
    assert not list(out.glob("*.partial*"))
