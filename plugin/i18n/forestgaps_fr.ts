<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr_FR">
<context>
    <name>@default</name>
    <message>
        <location filename="../dialogs/deps_dialog.py" line="46"/>
        <source>ForestGaps dependencies</source>
        <translation>Dépendances de ForestGaps</translation>
    </message>
    <message>
        <location filename="../dialogs/deps_dialog.py" line="62"/>
        <source>Will install: {0}.</source>
        <translation>Sera installé : {0}.</translation>
    </message>
    <message>
        <location filename="../dialogs/deps_dialog.py" line="62"/>
        <source>Already installed.</source>
        <translation>Déjà installé.</translation>
    </message>
    <message>
        <location filename="../dialogs/deps_dialog.py" line="75"/>
        <source>Packages go into {0} (delete that folder to undo). Libraries QGIS ships, such as numpy and GDAL, are left as they are.</source>
        <translation>Les paquets vont dans {0} (supprimez ce dossier pour annuler). Les bibliothèques fournies avec QGIS, comme numpy et GDAL, restent inchangées.</translation>
    </message>
    <message>
        <location filename="../dialogs/deps_dialog.py" line="90"/>
        <source>Install</source>
        <translation>Installer</translation>
    </message>
    <message>
        <location filename="../dialogs/deps_dialog.py" line="125"/>
        <source>An installation is already running.</source>
        <translation>Une installation est déjà en cours.</translation>
    </message>
    <message>
        <location filename="../dialogs/deps_dialog.py" line="148"/>
        <source>pip could not be started: {0}</source>
        <translation>pip n’a pas pu être lancé : {0}</translation>
    </message>
    <message>
        <location filename="../dialogs/deps_dialog.py" line="164"/>
        <source>pip failed (exit code {0}); nothing was changed in QGIS.</source>
        <translation>pip a échoué (code de sortie {0}) ; rien n’a été modifié dans QGIS.</translation>
    </message>
    <message>
        <location filename="../dialogs/deps_dialog.py" line="172"/>
        <source>Installed into {0}. Restart QGIS if a compiled package (PyTorch) does not load at once.</source>
        <translation>Installé dans {0}. Redémarrez QGIS si un paquet compilé (PyTorch) ne se charge pas tout de suite.</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="53"/>
        <source>Whole DSM layer</source>
        <translation>Toute la couche MNS</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="54"/>
        <source>Current map extent</source>
        <translation>Emprise actuelle de la carte</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="206"/>
        <source>Polygon layer</source>
        <translation>Couche de polygones</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="61"/>
        <source>Auto</source>
        <translation>Auto</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="61"/>
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="61"/>
        <source>GPU (CUDA)</source>
        <translation>GPU (CUDA)</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="89"/>
        <source>Gap height thresholds</source>
        <translation>Seuils de hauteur des trouées</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="77"/>
        <source>Install dependencies…</source>
        <translation>Installer les dépendances…</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="131"/>
        <source>ForestGaps cannot run: {0} missing.</source>
        <translation>ForestGaps ne peut pas fonctionner : {0} manquant(s).</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="133"/>
        <source>Deep-learning models need PyTorch or ONNX Runtime; only the classic detector (with a CHM or DTM) can run.</source>
        <translation>Les modèles d’apprentissage profond demandent PyTorch ou ONNX Runtime ; seul le détecteur classique (avec un MNH ou un MNT) peut fonctionner.</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="151"/>
        <source>CHM (heights above ground)</source>
        <translation>MNH (hauteurs au-dessus du sol)</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="152"/>
        <source>DTM (ground elevation)</source>
        <translation>MNT (altitude du sol)</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="153"/>
        <source>DSM layer</source>
        <translation>Couche MNS</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="154"/>
        <source>CHM / DTM (optional)</source>
        <translation>MNH / MNT (facultatif)</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="155"/>
        <source>It holds</source>
        <translation>Elle contient</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="164"/>
        <source>&quot;default&quot; or a model folder</source>
        <translation>« default » ou un dossier de modèle</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="165"/>
        <source>Browse…</source>
        <translation>Parcourir…</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="167"/>
        <source>Default</source>
        <translation>Par défaut</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="178"/>
        <source>Model</source>
        <translation>Modèle</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="195"/>
        <source>Detect</source>
        <translation>Détecter</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="197"/>
        <source>Devices not checked yet.</source>
        <translation>Périphériques pas encore vérifiés.</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="204"/>
        <source>[temporary folder]</source>
        <translation>[dossier temporaire]</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="205"/>
        <source>Processing extent</source>
        <translation>Emprise du traitement</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="207"/>
        <source>Device</source>
        <translation>Périphérique</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="209"/>
        <source>Output folder</source>
        <translation>Dossier de sortie</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="213"/>
        <source>Advanced</source>
        <translation>Avancé</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="228"/>
        <source>Tile size</source>
        <translation>Taille des tuiles</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="229"/>
        <source>Overlap</source>
        <translation>Recouvrement</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="230"/>
        <source>Batch size</source>
        <translation>Taille de lot</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="231"/>
        <source>Minimum gap area</source>
        <translation>Surface minimale d’une trouée</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="245"/>
        <source>Run</source>
        <translation>Exécuter</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="247"/>
        <source>Cancel</source>
        <translation>Annuler</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="273"/>
        <source>Model folder (model_card.json)</source>
        <translation>Dossier du modèle (model_card.json)</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="348"/>
        <source>Cannot run: {0}</source>
        <translation>Exécution impossible : {0}</translation>
    </message>
    <message>
        <location filename="../dock/thresholds_widget.py" line="32"/>
        <source>Add</source>
        <translation>Ajouter</translation>
    </message>
    <message>
        <location filename="../dock/thresholds_widget.py" line="33"/>
        <source>Remove</source>
        <translation>Retirer</translation>
    </message>
    <message>
        <location filename="../dock/thresholds_widget.py" line="83"/>
        <source>{0} m outside the model's trained range {1}–{2} m: expect less reliable maps.</source>
        <translation>{0} m hors de la plage d’entraînement du modèle ({1}–{2} m) : cartes moins fiables.</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="45"/>
        <source>&amp;ForestGaps</source>
        <translation>&amp;ForestGaps</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="58"/>
        <source>Detect gaps (panel)…</source>
        <translation>Détecter les trouées (panneau)…</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="58"/>
        <source>Open the ForestGaps panel: detect gaps in a DSM with a model or the classic rule</source>
        <translation>Ouvrir le panneau ForestGaps : détecter les trouées dans un MNS avec un modèle ou la règle classique</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="65"/>
        <source>Gaps from CHM (classic)…</source>
        <translation>Trouées depuis un MNH (classique)…</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="65"/>
        <source>Detect canopy gaps in a canopy height model (ForestGapR semantics)</source>
        <translation>Détecter les trouées de canopée dans un modèle numérique de hauteur (sémantique ForestGapR)</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="71"/>
        <source>Check dependencies</source>
        <translation>Vérifier les dépendances</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="71"/>
        <source>List the Python packages ForestGaps needs and which are missing</source>
        <translation>Lister les paquets Python nécessaires à ForestGaps et ceux qui manquent</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="77"/>
        <source>Install the missing Python packages into a ForestGaps folder, with your consent</source>
        <translation>Installer les paquets Python manquants dans un dossier ForestGaps, avec votre accord</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="209"/>
        <source>Cannot open {0}: {1}</source>
        <translation>Impossible d’ouvrir {0} : {1}</translation>
    </message>
    <message>
        <location filename="../runner.py" line="54"/>
        <source>A detection is already running; cancel it or wait.</source>
        <translation>Une détection est déjà en cours ; annulez-la ou attendez.</translation>
    </message>
    <message>
        <location filename="../runner.py" line="61"/>
        <source>Started: {0}, thresholds {1} m, model {2}</source>
        <translation>Lancé : {0}, seuils {1} m, modèle {2}</translation>
    </message>
    <message>
        <location filename="../runner.py" line="76"/>
        <source>Cancelling…</source>
        <translation>Annulation…</translation>
    </message>
    <message>
        <location filename="../deps_installer.py" line="111"/>
        <source>Light: prediction with ONNX models</source>
        <translation>Léger : prédiction avec des modèles ONNX</translation>
    </message>
    <message>
        <location filename="../deps_installer.py" line="111"/>
        <source>About 30 MB to download, 100 MB on disk (ONNX Runtime is most of it).</source>
        <translation>Environ 30 Mo à télécharger, 100 Mo sur disque (surtout ONNX Runtime).</translation>
    </message>
    <message>
        <location filename="../deps_installer.py" line="122"/>
        <source>Full: PyTorch CPU, for training and every model</source>
        <translation>Complet : PyTorch CPU, pour l’entraînement et tous les modèles</translation>
    </message>
    <message>
        <location filename="../deps_installer.py" line="122"/>
        <source>About 250 MB to download, 1 GB on disk (PyTorch is most of it).</source>
        <translation>Environ 250 Mo à télécharger, 1 Go sur disque (surtout PyTorch).</translation>
    </message>
    <message>
        <location filename="../deps_installer.py" line="111"/>
        <source>Gap detection with ONNX models and the classic detector; no training.</source>
        <translation>Détection des trouées avec des modèles ONNX et le détecteur classique ; pas d’entraînement.</translation>
    </message>
    <message>
        <location filename="../deps_installer.py" line="122"/>
        <source>Light plus PyTorch (CPU), kornia, TensorBoard: training and any model.</source>
        <translation>Léger, plus PyTorch (CPU), kornia, TensorBoard : entraînement et tout modèle.</translation>
    </message>
    <message>
        <location filename="../dialogs/about_dialog.py" line="54"/>
        <source>not installed</source>
        <translation>non installé</translation>
    </message>
    <message>
        <location filename="../dialogs/about_dialog.py" line="68"/>
        <source>ForestGaps version</source>
        <translation>Version de ForestGaps</translation>
    </message>
    <message>
        <location filename="../dialogs/about_dialog.py" line="72"/>
        <source>License</source>
        <translation>Licence</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="83"/>
        <source>About ForestGaps</source>
        <translation>À propos de ForestGaps</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="234"/>
        <source>empty: run on this computer</source>
        <translation>vide : exécuter sur cet ordinateur</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="235"/>
        <source>Address of a ForestGaps server (forestgaps serve), e.g. http://127.0.0.1:8000: the DSM is sent to it and the model runs there.</source>
        <translation>Adresse d’un serveur ForestGaps (forestgaps serve), par ex. http://127.0.0.1:8000 : le MNS lui est envoyé et le modèle s’exécute sur ce serveur.</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="241"/>
        <source>Server URL</source>
        <translation>URL du serveur</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="83"/>
        <source>ForestGaps version, the versions of QGIS and its libraries, license and links</source>
        <translation>Version de ForestGaps, versions de QGIS et de ses bibliothèques, licence et liens</translation>
    </message>
    <message>
        <location filename="../runner.py" line="67"/>
        <source>The model runs on the ForestGaps server {0}.</source>
        <translation>Le modèle s’exécute sur le serveur ForestGaps {0}.</translation>
    </message>
</context>
<context>
    <name>ChmFromDsmDtmAlgorithm</name>
    <message>
        <location filename="../processing/chm_from_dsm_dtm.py" line="66"/>
        <source>CHM from DSM and DTM</source>
        <translation>MNH depuis MNS et MNT</translation>
    </message>
    <message>
        <location filename="../processing/chm_from_dsm_dtm.py" line="69"/>
        <source>Height rasters</source>
        <translation>Rasters de hauteur</translation>
    </message>
    <message>
        <location filename="../processing/chm_from_dsm_dtm.py" line="78"/>
        <source>Computes a canopy height model (CHM = DSM - DTM, metres above ground). The DTM is resampled (bilinear) onto the DSM&apos;s grid, moved to a metric CRS when the DSM is in degrees; negative heights are set to 0 and cells without data in either input are nodata. Both rasters must overlap.</source>
        <translation>Calcule un modèle numérique de hauteur (MNH = MNS - MNT, mètres au-dessus du sol). Le MNT est rééchantillonné (bilinéaire) sur la grille du MNS, passée dans un SCR métrique quand le MNS est en degrés ; les hauteurs négatives sont mises à 0 et les cellules sans donnée dans l’une des entrées sont nodata. Les deux rasters doivent se recouvrir.</translation>
    </message>
    <message>
        <location filename="../processing/chm_from_dsm_dtm.py" line="89"/>
        <source>DSM (surface, metres)</source>
        <translation>MNS (surface, mètres)</translation>
    </message>
    <message>
        <location filename="../processing/chm_from_dsm_dtm.py" line="92"/>
        <source>DTM (ground, metres)</source>
        <translation>MNT (sol, mètres)</translation>
    </message>
    <message>
        <location filename="../processing/chm_from_dsm_dtm.py" line="95"/>
        <source>CHM</source>
        <translation>MNH</translation>
    </message>
</context>
<context>
    <name>DetectGapsAlgorithm</name>
    <message>
        <location filename="../processing/detect_gaps.py" line="55"/>
        <source>Detect gaps in a DSM (deep learning)</source>
        <translation>Détecter les trouées dans un MNS (apprentissage profond)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="58"/>
        <source>Gap detection</source>
        <translation>Détection des trouées</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="67"/>
        <source>Predicts canopy gaps from a digital surface model (DSM, metres) with a trained ForestGaps model, at every listed height threshold in one pass.

Thresholds: comma-separated heights in metres, e.g. 2,5,10. Model: a model folder (model.safetensors + model_card.json); empty uses the bundled default model. Tile, overlap and batch set the prediction windows (overlap below half the tile). Writes per threshold a gap probability raster, a gap mask and gap polygons, plus summary.json, into the output folder.</source>
        <translation>Prédit les trouées de canopée à partir d’un modèle numérique de surface (MNS, mètres) avec un modèle ForestGaps entraîné, à chaque seuil de hauteur listé, en une passe.

Seuils : hauteurs en mètres séparées par des virgules, p. ex. 2,5,10. Modèle : un dossier de modèle (model.safetensors + model_card.json) ; vide, le modèle fourni par défaut est utilisé. Tuile, recouvrement et lot règlent les fenêtres de prédiction (recouvrement inférieur à la moitié de la tuile). Écrit pour chaque seuil un raster de probabilité, un masque et des polygones de trouées, ainsi que summary.json, dans le dossier de sortie.</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="82"/>
        <source>DSM (metres)</source>
        <translation>MNS (mètres)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="83"/>
        <source>Height thresholds (m, comma-separated)</source>
        <translation>Seuils de hauteur (m, séparés par des virgules)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="90"/>
        <source>Model folder (empty: bundled default)</source>
        <translation>Dossier du modèle (vide : modèle fourni par défaut)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="98"/>
        <source>Tile size (px)</source>
        <translation>Taille des tuiles (px)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="98"/>
        <source>Overlap (px)</source>
        <translation>Recouvrement (px)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="98"/>
        <source>Batch size</source>
        <translation>Taille de lot</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="108"/>
        <source>Minimum gap area (m²)</source>
        <translation>Surface minimale d’une trouée (m²)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="117"/>
        <source>Output folder</source>
        <translation>Dossier de sortie</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="120"/>
        <source>Summary (JSON)</source>
        <translation>Résumé (JSON)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="121"/>
        <source>Gaps at the lowest threshold</source>
        <translation>Trouées au seuil le plus bas</translation>
    </message>
</context>
<context>
    <name>EvaluateModelAlgorithm</name>
    <message>
        <location filename="../processing/evaluate_model.py" line="54"/>
        <source>Evaluate a gap model</source>
        <translation>Évaluer un modèle de trouées</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="57"/>
        <source>Training</source>
        <translation>Entraînement</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="66"/>
        <source>Scores gap maps against reference gaps found on a canopy height model with ForestGapR&apos;s rule (height &lt;= threshold, 8-connected, area bounds of the gaps defaults). The reference is a CHM, or a DTM from which CHM = DSM - DTM. With a model folder the model predicts on the DSM and is scored beside the DSM-only baseline and the CHM ceiling; without one, the baselines alone are scored. Writes report.md, metrics.csv, objects.csv, bias.csv, a JSON and figures into the output folder.</source>
        <translation>Évalue des cartes de trouées par rapport aux trouées de référence trouvées sur un modèle numérique de hauteur avec la règle de ForestGapR (hauteur &lt;= seuil, 8-connexité, bornes de surface par défaut). La référence est un MNH, ou un MNT dont on tire MNH = MNS - MNT. Avec un dossier de modèle, le modèle prédit sur le MNS et est évalué à côté de la référence MNS seul et du plafond MNH ; sans modèle, seules les références sont évaluées. Écrit report.md, metrics.csv, objects.csv, bias.csv, un JSON et des figures dans le dossier de sortie.</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="80"/>
        <source>DSM (metres)</source>
        <translation>MNS (mètres)</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="81"/>
        <source>CHM or DTM (metres)</source>
        <translation>MNH ou MNT (mètres)</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="84"/>
        <source>The reference holds</source>
        <translation>La référence contient</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="84"/>
        <source>CHM (heights above ground)</source>
        <translation>MNH (hauteurs au-dessus du sol)</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="84"/>
        <source>DTM (ground elevation)</source>
        <translation>MNT (altitude du sol)</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="95"/>
        <source>Model folder (empty: baselines only)</source>
        <translation>Dossier du modèle (vide : références seules)</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="103"/>
        <source>Height thresholds (m, comma-separated)</source>
        <translation>Seuils de hauteur (m, séparés par des virgules)</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="110"/>
        <source>Report folder</source>
        <translation>Dossier du rapport</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="113"/>
        <source>Report (Markdown)</source>
        <translation>Rapport (Markdown)</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="114"/>
        <source>Metrics (CSV)</source>
        <translation>Métriques (CSV)</translation>
    </message>
</context>
<context>
    <name>ExportModelAlgorithm</name>
    <message>
        <location filename="../processing/export_model.py" line="65"/>
        <source>Export a gap model</source>
        <translation>Exporter un modèle de trouées</translation>
    </message>
    <message>
        <location filename="../processing/export_model.py" line="68"/>
        <source>Training</source>
        <translation>Entraînement</translation>
    </message>
    <message>
        <location filename="../processing/export_model.py" line="77"/>
        <source>Exports a model folder (model.safetensors + model_card.json; empty: the bundled default) to ONNX (.onnx, for ONNX Runtime), TorchScript (.pt) or a clean native model folder. ONNX and TorchScript graphs take raw DSM metres and a threshold and return gap probabilities. The export is refused when it differs from the original model by more than 1e-4.</source>
        <translation>Exporte un dossier de modèle (model.safetensors + model_card.json ; vide : le modèle fourni par défaut) en ONNX (.onnx, pour ONNX Runtime), en TorchScript (.pt) ou en dossier de modèle natif propre. Les graphes ONNX et TorchScript prennent le MNS brut en mètres et un seuil, et renvoient des probabilités de trouée. L’export est refusé s’il diffère du modèle d’origine de plus de 1e-4.</translation>
    </message>
    <message>
        <location filename="../processing/export_model.py" line="89"/>
        <source>Model folder (empty: bundled default)</source>
        <translation>Dossier du modèle (vide : modèle fourni par défaut)</translation>
    </message>
    <message>
        <location filename="../processing/export_model.py" line="97"/>
        <source>Format</source>
        <translation>Format</translation>
    </message>
    <message>
        <location filename="../processing/export_model.py" line="102"/>
        <source>Exported model (.onnx, .pt, or a folder for native)</source>
        <translation>Modèle exporté (.onnx, .pt, ou un dossier pour natif)</translation>
    </message>
    <message>
        <location filename="../processing/export_model.py" line="109"/>
        <source>Parity (JSON)</source>
        <translation>Parité (JSON)</translation>
    </message>
</context>
<context>
    <name>GapStatisticsAlgorithm</name>
    <message>
        <location filename="../processing/gap_statistics.py" line="80"/>
        <source>Gap statistics (CSV)</source>
        <translation>Statistiques des trouées (CSV)</translation>
    </message>
    <message>
        <location filename="../processing/gap_statistics.py" line="83"/>
        <source>Gap detection</source>
        <translation>Détection des trouées</translation>
    </message>
    <message>
        <location filename="../processing/gap_statistics.py" line="92"/>
        <source>Computes ForestGapR's GapStats for every gap of a gap-id raster (0 = no gap, 1..n = gap ids, e.g. the output of 'Gaps from CHM'): area (m²) and the maximum, minimum, mean, standard deviation, Gini coefficient and range of the canopy height inside the gap. The gap raster is aligned on the CHM's grid (nearest neighbour). Ids are renumbered 1..n in increasing order.</source>
        <translation>Calcule les GapStats de ForestGapR pour chaque trouée d’un raster d’identifiants (0 = pas de trouée, 1..n = identifiants, p. ex. la sortie de « Trouées depuis un MNH ») : surface (m²) et maximum, minimum, moyenne, écart-type, coefficient de Gini et étendue de la hauteur de canopée dans la trouée. Le raster de trouées est aligné sur la grille du MNH (plus proche voisin). Les identifiants sont renumérotés 1..n par ordre croissant.</translation>
    </message>
    <message>
        <location filename="../processing/gap_statistics.py" line="104"/>
        <source>Gap id raster</source>
        <translation>Raster des identifiants de trouées</translation>
    </message>
    <message>
        <location filename="../processing/gap_statistics.py" line="105"/>
        <source>CHM (metres)</source>
        <translation>MNH (mètres)</translation>
    </message>
    <message>
        <location filename="../processing/gap_statistics.py" line="106"/>
        <source>Gap statistics</source>
        <translation>Statistiques des trouées</translation>
    </message>
    <message>
        <location filename="../processing/gap_statistics.py" line="111"/>
        <source>Number of gaps</source>
        <translation>Nombre de trouées</translation>
    </message>
</context>
<context>
    <name>GapsFromChmAlgorithm</name>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="96"/>
        <source>Gaps from CHM (classic, ForestGapR-exact)</source>
        <translation>Trouées depuis un MNH (classique, identique à ForestGapR)</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="99"/>
        <source>Gap detection</source>
        <translation>Détection des trouées</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="108"/>
        <source>Finds canopy gaps in a canopy height model (CHM, metres above ground) exactly as ForestGapR&apos;s getForestGaps does: a cell is gap when its height is at or below the threshold, gap cells form 8-connected patches, and a patch is kept when its area lies within [minimum area, maximum area] square metres.

The CHM must have a projected CRS in metres. Writes a gap-id raster and gap polygons into the output folder.</source>
        <translation>Trouve les trouées de canopée dans un modèle numérique de hauteur (MNH, mètres au-dessus du sol) exactement comme getForestGaps de ForestGapR : une cellule est en trouée quand sa hauteur est inférieure ou égale au seuil, les cellules en trouée forment des taches 8-connexes, et une tache est gardée quand sa surface est comprise dans [surface minimale, surface maximale] mètres carrés.

Le MNH doit avoir un SCR projeté en mètres. Écrit un raster d’identifiants de trouées et des polygones de trouées dans le dossier de sortie.</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="121"/>
        <source>Canopy height model (CHM, metres)</source>
        <translation>Modèle numérique de hauteur (MNH, mètres)</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="126"/>
        <source>Height threshold (m): gap where height &lt;= threshold</source>
        <translation>Seuil de hauteur (m) : trouée où hauteur &lt;= seuil</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="135"/>
        <source>Minimum gap area (m²)</source>
        <translation>Surface minimale d’une trouée (m²)</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="145"/>
        <source>Maximum gap area (m²)</source>
        <translation>Surface maximale d’une trouée (m²)</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="155"/>
        <source>Output folder</source>
        <translation>Dossier de sortie</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="158"/>
        <source>Gap raster</source>
        <translation>Raster des trouées</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="159"/>
        <source>Gap polygons</source>
        <translation>Polygones des trouées</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="166"/>
        <source>Gap statistics (CSV)</source>
        <translation>Statistiques des trouées (CSV)</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="167"/>
        <source>Number of gaps</source>
        <translation>Nombre de trouées</translation>
    </message>
</context>
<context>
    <name>PrepareTrainingDataAlgorithm</name>
    <message>
        <location filename="../processing/prepare_training_data.py" line="60"/>
        <source>Prepare training data</source>
        <translation>Préparer les données d’entraînement</translation>
    </message>
    <message>
        <location filename="../processing/prepare_training_data.py" line="63"/>
        <source>Training</source>
        <translation>Entraînement</translation>
    </message>
    <message>
        <location filename="../processing/prepare_training_data.py" line="72"/>
        <source>Turns the sites of a ForestGaps config (DSM + CHM, DSM + DTM, point clouds and/or generated synthetic forests) into training shards: gap labels at every configured threshold, tiles, a split by site, normalization statistics and a manifest. Overrides: key=value per line (or separated by &apos;;&apos;), e.g. synth.n_sites=2. The output folder replaces data.output_dir.</source>
        <translation>Transforme les sites d’une configuration ForestGaps (MNS + MNH, MNS + MNT, nuages de points et/ou forêts synthétiques générées) en fragments d’entraînement : étiquettes de trouées à chaque seuil configuré, tuiles, partage par site, statistiques de normalisation et manifeste. Surcharges : clé=valeur par ligne (ou séparées par « ; »), p. ex. synth.n_sites=2. Le dossier de sortie remplace data.output_dir.</translation>
    </message>
    <message>
        <location filename="../processing/prepare_training_data.py" line="84"/>
        <source>Config (YAML)</source>
        <translation>Configuration (YAML)</translation>
    </message>
    <message>
        <location filename="../processing/prepare_training_data.py" line="89"/>
        <source>Overrides (key=value)</source>
        <translation>Surcharges (clé=valeur)</translation>
    </message>
    <message>
        <location filename="../processing/prepare_training_data.py" line="94"/>
        <source>Prepared data folder</source>
        <translation>Dossier des données préparées</translation>
    </message>
    <message>
        <location filename="../processing/prepare_training_data.py" line="99"/>
        <source>Manifest (JSON)</source>
        <translation>Manifeste (JSON)</translation>
    </message>
</context>
<context>
    <name>RasterizeLidarAlgorithm</name>
    <message>
        <location filename="../processing/rasterize_lidar.py" line="55"/>
        <source>Rasterize LiDAR point cloud (DSM, DTM, CHM)</source>
        <translation>Rastériser un nuage de points LiDAR (MNS, MNT, MNH)</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_lidar.py" line="58"/>
        <source>Height rasters</source>
        <translation>Rasters de hauteur</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_lidar.py" line="67"/>
        <source>Rasterises a LAS/LAZ point cloud at the given cell size (metres): DSM = highest non-noise return per cell (holes filled, pits raised), DTM = lowest ground point (class 2), interpolated elsewhere, CHM = DSM - DTM clipped at 0. Writes dsm.tif, dtm.tif and chm.tif (Cloud Optimized GeoTIFF) into the output folder.

CRS: use it when the file&apos;s header has none or a wrong one. A height-normalised cloud (z already above ground) gives a CHM only.</source>
        <translation>Rastérise un nuage de points LAS/LAZ à la taille de cellule donnée (mètres) : MNS = plus haut retour hors bruit par cellule (trous comblés, creux relevés), MNT = plus bas point sol (classe 2), interpolé ailleurs, MNH = MNS - MNT borné à 0. Écrit dsm.tif, dtm.tif et chm.tif (GeoTIFF optimisé pour le cloud) dans le dossier de sortie.

SCR : à utiliser quand l’en-tête du fichier n’en a pas ou en a un faux. Un nuage normalisé en hauteur (z déjà au-dessus du sol) ne donne qu’un MNH.</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_lidar.py" line="80"/>
        <source>Point cloud (.las, .laz)</source>
        <translation>Nuage de points (.las, .laz)</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_lidar.py" line="87"/>
        <source>Cell size (m)</source>
        <translation>Taille de cellule (m)</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_lidar.py" line="97"/>
        <source>CRS (when the header has none)</source>
        <translation>SCR (quand l’en-tête n’en a pas)</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_lidar.py" line="102"/>
        <source>Point heights</source>
        <translation>Hauteurs des points</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_lidar.py" line="110"/>
        <source>Output folder</source>
        <translation>Dossier de sortie</translation>
    </message>
</context>
<context>
    <name>TrainModelAlgorithm</name>
    <message>
        <location filename="../processing/train_model.py" line="65"/>
        <source>Train a gap model</source>
        <translation>Entraîner un modèle de trouées</translation>
    </message>
    <message>
        <location filename="../processing/train_model.py" line="68"/>
        <source>Training</source>
        <translation>Entraînement</translation>
    </message>
    <message>
        <location filename="../processing/train_model.py" line="77"/>
        <source>Trains the model of a ForestGaps config (model, thresholds, training sections) on a prepared data folder (the output of Prepare training data). Writes checkpoints, TensorBoard logs and the model folder (model.safetensors + model_card.json) into the output folder, which replaces training.output_dir. Empty prepared folder: data.output_dir of the config. Overrides: key=value per line (or separated by &apos;;&apos;), e.g. training.epochs=5. Resume continues from checkpoints/last.pt in the output folder. Cancelling keeps the checkpoints.</source>
        <translation>Entraîne le modèle d’une configuration ForestGaps (sections model, seuils, training) sur un dossier de données préparées (la sortie de « Préparer les données d’entraînement »). Écrit les points de reprise, les journaux TensorBoard et le dossier du modèle (model.safetensors + model_card.json) dans le dossier de sortie, qui remplace training.output_dir. Dossier préparé vide : data.output_dir de la configuration. Surcharges : clé=valeur par ligne (ou séparées par « ; »), p. ex. training.epochs=5. Reprendre continue depuis checkpoints/last.pt du dossier de sortie. Annuler garde les points de reprise.</translation>
    </message>
    <message>
        <location filename="../processing/train_model.py" line="91"/>
        <source>Config (YAML)</source>
        <translation>Configuration (YAML)</translation>
    </message>
    <message>
        <location filename="../processing/train_model.py" line="96"/>
        <source>Prepared data folder (empty: data.output_dir of the config)</source>
        <translation>Dossier des données préparées (vide : data.output_dir de la configuration)</translation>
    </message>
    <message>
        <location filename="../processing/train_model.py" line="104"/>
        <source>Overrides (key=value)</source>
        <translation>Surcharges (clé=valeur)</translation>
    </message>
    <message>
        <location filename="../processing/train_model.py" line="109"/>
        <source>Resume from the last checkpoint</source>
        <translation>Reprendre au dernier point de reprise</translation>
    </message>
    <message>
        <location filename="../processing/train_model.py" line="114"/>
        <source>Training folder</source>
        <translation>Dossier d’entraînement</translation>
    </message>
    <message>
        <location filename="../processing/train_model.py" line="117"/>
        <source>Model folder</source>
        <translation>Dossier du modèle</translation>
    </message>
    <message>
        <location filename="../processing/train_model.py" line="118"/>
        <source>Epochs run</source>
        <translation>Époques effectuées</translation>
    </message>
</context>
</TS>
