"""ForestGapsPlugin: menu, toolbar button and Processing provider; nothing heavy at start.

The engine's heavy dependencies (torch, rasterio) load only when a job runs, through the
engine, inside a Processing algorithm or a task. Starting the plugin imports Qt, QGIS and
the plugin's own small modules only, and works with every engine dependency missing.
"""

from __future__ import annotations

import logging
from typing import Any

from qgis.core import Qgis, QgsApplication, QgsMessageLog
from qgis.PyQt.QtWidgets import QAction, QDockWidget

from . import log_bridge
from .deps import describe_missing, missing_groups
from .processing.provider import PROVIDER_ID, ForestGapsProvider
from .resources import plugin_icon
from .translation import install_translator, remove_translator, tr

logger = logging.getLogger(__name__)

GAPS_FROM_CHM_ALGORITHM = f"{PROVIDER_ID}:gapsfromchm"


class ForestGapsPlugin:
    """What QGIS drives: ``initProcessing`` (also headless), ``initGui`` and ``unload``.

    Args:
        iface: the ``QgisInterface`` (None or a stub under ``qgis_process``).
    """

    def __init__(self, iface: Any) -> None:
        self.iface = iface
        self.provider: ForestGapsProvider | None = None
        self.actions: list[QAction] = []
        self.dock: QDockWidget | None = None
        self._log_handler: log_bridge.QgisLogHandler | None = None
        self.runner: Any = None
        self.deps_dialog: Any = None
        self.about_dialog: Any = None
        # Before any text is built: menu entries and algorithm names are translated once.
        self.translator = install_translator()
        self.menu_title = tr("&ForestGaps")

    def initProcessing(self) -> None:  # name fixed by QGIS
        """Register the Processing provider (qgis_process calls only this)."""
        if self._log_handler is None:
            self._log_handler = log_bridge.install()
        if self.provider is None:
            self.provider = ForestGapsProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:  # name fixed by QGIS
        """Add the menu entries and the toolbar button, register the provider, check deps."""
        self.initProcessing()
        dock_action = self._add_action(
            tr("Detect gaps (panel)…"),
            tr("Open the ForestGaps panel: detect gaps in a DSM with a model or the classic rule"),
            self.show_dock,
            on_toolbar=True,
        )
        dock_action.setObjectName("forestgapsShowDock")
        gaps_action = self._add_action(
            tr("Gaps from CHM (classic)…"),
            tr("Detect canopy gaps in a canopy height model (ForestGapR semantics)"),
            self.open_gaps_from_chm,
        )
        gaps_action.setObjectName("forestgapsGapsFromChm")
        deps_action = self._add_action(
            tr("Check dependencies"),
            tr("List the Python packages ForestGaps needs and which are missing"),
            self.show_dependency_status,
        )
        deps_action.setObjectName("forestgapsCheckDependencies")
        install_action = self._add_action(
            tr("Install dependencies…"),
            tr("Install the missing Python packages into a ForestGaps folder, with your consent"),
            self.show_install_dialog,
        )
        install_action.setObjectName("forestgapsInstallDependencies")
        about_action = self._add_action(
            tr("About ForestGaps"),
            tr("ForestGaps version, the versions of QGIS and its libraries, license and links"),
            self.show_about,
        )
        about_action.setObjectName("forestgapsAbout")
        self.report_missing_dependencies()

    def unload(self) -> None:
        """Remove everything initGui/initProcessing added; QGIS may load the plugin again."""
        for action in self.actions:
            self.iface.removePluginMenu(self.menu_title, action)
            self.iface.removeToolBarIcon(action)
            action.deleteLater()
        self.actions.clear()
        if self.runner is not None and self.runner.task is not None:
            self.runner.task.cancel()
        self.runner = None
        if self.dock is not None:
            self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
        if self.deps_dialog is not None:
            self.deps_dialog.close()
            self.deps_dialog.deleteLater()
            self.deps_dialog = None
        if self.about_dialog is not None:
            self.about_dialog.close()
            self.about_dialog.deleteLater()
            self.about_dialog = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self._log_handler is not None:
            log_bridge.uninstall(self._log_handler)
            self._log_handler = None
        remove_translator(self.translator)
        self.translator = None

    def _add_action(self, text: str, tip: str, slot: Any, on_toolbar: bool = False) -> QAction:
        action = QAction(plugin_icon(), text, self.iface.mainWindow())
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.iface.addPluginToMenu(self.menu_title, action)
        if on_toolbar:
            self.iface.addToolBarIcon(action)
        self.actions.append(action)
        return action

    def show_dock(self) -> QDockWidget:
        """Create the panel on first use, then show it.

        The panel imports no engine dependency to open: without them it names what is
        missing and offers the installer.
        """
        if self.dock is None:
            from qgis.PyQt.QtCore import Qt

            from .dock.dock_widget import ForestGapsDock
            from .runner import DetectionRunner

            self.dock = ForestGapsDock(self.iface, self.iface.mainWindow())
            self.runner = DetectionRunner(self.dock, self.iface)
            self.dock.installRequested.connect(self.show_install_dialog)
            self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.dock.show()
        self.dock.raise_()
        return self.dock

    def report_missing_dependencies(self) -> dict[str, list[str]]:
        """Say plainly what is missing: a message bar warning for core packages, a log line
        for optional ones.

        Returns:
            Missing pip names by dependency group (empty when all are installed).
        """
        missing = missing_groups()
        if not missing:
            return missing
        text = describe_missing(missing)
        level = Qgis.MessageLevel.Warning if "core" in missing else Qgis.MessageLevel.Info
        QgsMessageLog.logMessage(text, "ForestGaps", level)
        if "core" in missing:
            self.iface.messageBar().pushWarning("ForestGaps", text)
        return missing

    def show_dependency_status(self) -> None:
        """Show the dependency status in the message bar."""
        missing = missing_groups()
        text = describe_missing(missing)
        if missing:
            self.iface.messageBar().pushWarning("ForestGaps", text)
        else:
            self.iface.messageBar().pushSuccess("ForestGaps", text)

    def show_install_dialog(self) -> Any:
        """Open the dependency installer (it installs nothing until the user consents)."""
        from .dialogs.deps_dialog import DependencyDialog

        if self.deps_dialog is None:
            self.deps_dialog = DependencyDialog(self.iface.mainWindow())
            self.deps_dialog.installed.connect(self._dependencies_installed)
        self.deps_dialog.show()
        self.deps_dialog.raise_()
        return self.deps_dialog

    def show_about(self) -> Any:
        """Open the About dialog (versions are read now, without importing torch)."""
        from .dialogs.about_dialog import AboutDialog

        if self.about_dialog is None:
            self.about_dialog = AboutDialog(self.iface.mainWindow())
        self.about_dialog.show()
        self.about_dialog.raise_()
        return self.about_dialog

    def _dependencies_installed(self, _target: str) -> None:
        if self.dock is not None:
            self.dock.refresh_dependency_notice()
            self.dock.refresh_model_info()  # the card can be read once pydantic is there
        self.show_dependency_status()

    def open_gaps_from_chm(self) -> None:
        """Open the Processing dialog of the classic gap detector."""
        try:
            import processing

            processing.execAlgorithmDialog(GAPS_FROM_CHM_ALGORITHM, {})
        except Exception as error:  # boundary: a failed dialog must not take QGIS down
            logger.exception("cannot open %s", GAPS_FROM_CHM_ALGORITHM)
            self.iface.messageBar().pushCritical(
                "ForestGaps", tr("Cannot open {0}: {1}").format(GAPS_FROM_CHM_ALGORITHM, error)
            )
