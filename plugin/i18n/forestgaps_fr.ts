<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr_FR">
<context>
    <name>@default</name>
    <message>
        <location filename="../dialogs/deps_dialog.py" line="47"/>
        <source>ForestGaps dependencies</source>
        <translation>Dépendances de ForestGaps</translation>
    </message>
    <message>
        <location filename="../dialogs/deps_dialog.py" line="63"/>
        <source>Will install: {0}.</source>
        <translation>Sera installé : {0}.</translation>
    </message>
    <message>
        <location filename="../dialogs/deps_dialog.py" line="63"/>
        <source>Already installed.</source>
        <translation>Déjà installé.</translation>
    </message>
    <message>
        <location filename="../dialogs/deps_dialog.py" line="92"/>
        <source>Install</source>
        <translation>Installer</translation>
    </message>
    <message>
        <location filename="../dialogs/deps_dialog.py" line="127"/>
        <source>An installation is already running.</source>
        <translation>Une installation est déjà en cours.</translation>
    </message>
    <message>
        <location filename="../dialogs/deps_dialog.py" line="150"/>
        <source>pip could not be started: {0}</source>
        <translation>pip n’a pas pu être lancé : {0}</translation>
    </message>
    <message>
        <location filename="../dialogs/deps_dialog.py" line="174"/>
        <source>Installed into {0}. Restart QGIS if a compiled package (PyTorch) does not load at once.</source>
        <translation>Installé dans {0}. Redémarrez QGIS si un paquet compilé (PyTorch) ne se charge pas tout de suite.</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="69"/>
        <source>Whole DSM layer</source>
        <translation>Toute la couche MNS</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="70"/>
        <source>Current map extent</source>
        <translation>Emprise actuelle de la carte</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="238"/>
        <source>Polygon layer</source>
        <translation>Couche de polygones</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="77"/>
        <source>Auto</source>
        <translation>Auto</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="77"/>
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="77"/>
        <source>GPU (CUDA)</source>
        <translation>GPU (CUDA)</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="105"/>
        <source>Gap height thresholds</source>
        <translation>Seuils de hauteur des trouées</translation>
    </message>
    <message>
        <location filename="../plugin.py" line="77"/>
        <source>Install dependencies…</source>
        <translation>Installer les dépendances…</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="150"/>
        <source>ForestGaps cannot run: {0} missing.</source>
        <translation>ForestGaps ne peut pas fonctionner : {0} manquant(s).</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="172"/>
        <source>CHM (heights above ground)</source>
        <translation>MNH (hauteurs au-dessus du sol)</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="173"/>
        <source>DTM (ground elevation)</source>
        <translation>MNT (altitude du sol)</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="174"/>
        <source>DSM layer</source>
        <translation>Couche MNS</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="175"/>
        <source>CHM / DTM (optional)</source>
        <translation>MNH / MNT (facultatif)</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="176"/>
        <source>It holds</source>
        <translation>Elle contient</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="195"/>
        <source>&quot;default&quot; or a model folder</source>
        <translation>« default » ou un dossier de modèle</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="196"/>
        <source>Browse…</source>
        <translation>Parcourir…</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="198"/>
        <source>Default</source>
        <translation>Par défaut</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="209"/>
        <source>Model</source>
        <translation>Modèle</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="226"/>
        <source>Detect</source>
        <translation>Détecter</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="229"/>
        <source>Devices not checked yet.</source>
        <translation>Périphériques pas encore vérifiés.</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="236"/>
        <source>[temporary folder]</source>
        <translation>[dossier temporaire]</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="237"/>
        <source>Processing extent</source>
        <translation>Emprise du traitement</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="239"/>
        <source>Device</source>
        <translation>Périphérique</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="241"/>
        <source>Output folder</source>
        <translation>Dossier de sortie</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="245"/>
        <source>Advanced</source>
        <translation>Avancé</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="269"/>
        <source>Tile size</source>
        <translation>Taille des tuiles</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="270"/>
        <source>Overlap</source>
        <translation>Recouvrement</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="271"/>
        <source>Batch size</source>
        <translation>Taille de lot</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="272"/>
        <source>Minimum gap area</source>
        <translation>Surface minimale d’une trouée</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="297"/>
        <source>Run</source>
        <translation>Exécuter</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="299"/>
        <source>Cancel</source>
        <translation>Annuler</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="326"/>
        <source>Model folder (model_card.json)</source>
        <translation>Dossier du modèle (model_card.json)</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="439"/>
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
        <location filename="../plugin.py" line="214"/>
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
        <location filename="../deps_installer.py" line="125"/>
        <source>Light: prediction with ONNX models</source>
        <translation>Léger : prédiction avec des modèles ONNX</translation>
    </message>
    <message>
        <location filename="../deps_installer.py" line="125"/>
        <source>About 30 MB to download, 100 MB on disk (ONNX Runtime is most of it).</source>
        <translation>Environ 30 Mo à télécharger, 100 Mo sur disque (surtout ONNX Runtime).</translation>
    </message>
    <message>
        <location filename="../deps_installer.py" line="136"/>
        <source>Full: PyTorch CPU, for training and every model</source>
        <translation>Complet : PyTorch CPU, pour l’entraînement et tous les modèles</translation>
    </message>
    <message>
        <location filename="../deps_installer.py" line="136"/>
        <source>About 250 MB to download, 1 GB on disk (PyTorch is most of it).</source>
        <translation>Environ 250 Mo à télécharger, 1 Go sur disque (surtout PyTorch).</translation>
    </message>
    <message>
        <location filename="../deps_installer.py" line="125"/>
        <source>Gap detection with ONNX models and the classic detector; no training.</source>
        <translation>Détection des trouées avec des modèles ONNX et le détecteur classique ; pas d’entraînement.</translation>
    </message>
    <message>
        <location filename="../deps_installer.py" line="136"/>
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
        <location filename="../dock/dock_widget.py" line="276"/>
        <source>empty: run on this computer</source>
        <translation>vide : exécuter sur cet ordinateur</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="277"/>
        <source>Address of a ForestGaps server (forestgaps serve), e.g. http://127.0.0.1:8000: the DSM is sent to it and the model runs there.</source>
        <translation>Adresse d’un serveur ForestGaps (forestgaps serve), par ex. http://127.0.0.1:8000 : le MNS lui est envoyé et le modèle s’exécute sur ce serveur.</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="283"/>
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
    <message>
        <location filename="../dialogs/deps_dialog.py" line="76"/>
        <source>Packages go into {0}, for every QGIS profile (delete that folder to undo). Packages QGIS already has, such as numpy and GDAL, are not installed again and stay the ones QGIS uses.</source>
        <translation>Les paquets vont dans {0}, pour tous les profils QGIS (supprimez ce dossier pour annuler). Les paquets que QGIS possède déjà, comme numpy et GDAL, ne sont pas réinstallés et restent ceux qu’utilise QGIS.</translation>
    </message>
    <message>
        <location filename="../dialogs/deps_dialog.py" line="166"/>
        <source>Installation failed (exit code {0}); QGIS and its packages are unchanged.</source>
        <translation>L’installation a échoué (code de sortie {0}) ; QGIS et ses paquets sont inchangés.</translation>
    </message>
    <message>
        <location filename="../dock/compare_dates.py" line="126"/>
        <source>The comparison was cancelled; nothing was written.</source>
        <translation>La comparaison a été annulée ; rien n’a été écrit.</translation>
    </message>
    <message>
        <location filename="../dock/compare_dates.py" line="176"/>
        <source>Compare dates</source>
        <translation>Comparer deux dates</translation>
    </message>
    <message>
        <location filename="../dock/compare_dates.py" line="185"/>
        <source>First date (CHM)</source>
        <translation>Première date (MNH)</translation>
    </message>
    <message>
        <location filename="../dock/compare_dates.py" line="186"/>
        <source>Second date (CHM)</source>
        <translation>Seconde date (MNH)</translation>
    </message>
    <message>
        <location filename="../dock/compare_dates.py" line="188"/>
        <source>Height thresholds (m)</source>
        <translation>Seuils de hauteur (m)</translation>
    </message>
    <message>
        <location filename="../dock/compare_dates.py" line="192"/>
        <source>Run comparison</source>
        <translation>Lancer la comparaison</translation>
    </message>
    <message>
        <location filename="../dock/compare_dates.py" line="208"/>
        <source>Choose a CHM layer for both dates.</source>
        <translation>Choisissez une couche MNH pour chacune des deux dates.</translation>
    </message>
    <message>
        <location filename="../dock/compare_dates.py" line="210"/>
        <source>First date and Second date are the same layer; choose two surveys.</source>
        <translation>Première date et Seconde date sont la même couche ; choisissez deux relevés.</translation>
    </message>
    <message>
        <location filename="../dock/compare_dates.py" line="217"/>
        <source>Height thresholds {!r}: list positive heights in metres such as 5, 10.</source>
        <translation>Seuils de hauteur {!r} : indiquez des hauteurs positives en mètres, par ex. 5, 10.</translation>
    </message>
    <message>
        <location filename="../dock/compare_dates.py" line="222"/>
        <source>Choose an Output folder.</source>
        <translation>Choisissez un Dossier de sortie.</translation>
    </message>
    <message>
        <location filename="../dock/compare_dates.py" line="235"/>
        <source>Comparing {}…</source>
        <translation>Comparaison de {}…</translation>
    </message>
    <message>
        <location filename="../dock/compare_dates.py" line="251"/>
        <source>{}: {:g} m² of new gap in {} new gaps, {:g} m² closed ({:g} m).</source>
        <translation>{} : {:g} m² de nouvelles trouées en {} nouvelles trouées, {:g} m² refermés ({:g} m).</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="154"/>
        <source>Deep-learning models need PyTorch, ONNX Runtime or OpenVINO; without one, only the classic detector (with a CHM or DTM) can run.</source>
        <translation>Les modèles d’apprentissage profond demandent PyTorch, ONNX Runtime ou OpenVINO ; sans l’un d’eux, seul le détecteur classique (avec un MNH ou un MNT) peut fonctionner.</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="182"/>
        <source>A coarse elevation model (national 5-25 m or global 30 m DEM, any CRS). With the default model it runs the bundled terrain model, which finds gaps better on slopes; another model must be trained with a terrain prior.</source>
        <translation>Un modèle d’élévation grossier (MNE national de 5-25 m ou mondial de 30 m, tout SCR). Avec le modèle par défaut, il lance le modèle de terrain fourni, qui trouve mieux les trouées sur les pentes ; un autre modèle doit être entraîné avec un a priori de terrain.</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="186"/>
        <source>Coarse terrain (DEM)</source>
        <translation>Terrain grossier (MNE)</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="263"/>
        <source>No limit</source>
        <translation>Sans limite</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="264"/>
        <source>Larger gaps are dropped; ForestGapR's getForestGaps uses 10000 m².</source>
        <translation>Les trouées plus grandes sont écartées ; getForestGaps de ForestGapR utilise 10000 m².</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="273"/>
        <source>Maximum gap area</source>
        <translation>Surface maximale d’une trouée</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="287"/>
        <source>For a server started with a token (forestgaps serve --token): a QGIS authentication configuration of method Basic whose password is the token.</source>
        <translation>Pour un serveur lancé avec un jeton (forestgaps serve --token) : une configuration d’authentification QGIS de méthode Basic dont le mot de passe est le jeton.</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="293"/>
        <source>Server token</source>
        <translation>Jeton du serveur</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="415"/>
        <source>The polygon layer &apos;{0}&apos; does not overlap the DSM layer &apos;{1}&apos;; choose another polygon layer or &apos;{2}&apos;.</source>
        <translation>La couche de polygones « {0} » ne recouvre pas la couche MNS « {1} » ; choisissez une autre couche de polygones ou « {2} ».</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="421"/>
        <source>The map extent does not overlap the DSM layer &apos;{0}&apos;; choose &apos;{1}&apos; or pan to it.</source>
        <translation>L’emprise de la carte ne recouvre pas la couche MNS « {0} » ; choisissez « {1} » ou déplacez la carte jusqu’à elle.</translation>
    </message>
    <message>
        <location filename="../dock/dock_widget.py" line="434"/>
        <source>{0} missing; click “Install dependencies…” above.</source>
        <translation>{0} manquant ; cliquez sur « Installer les dépendances… » ci-dessus.</translation>
    </message>
    <message>
        <location filename="../dock/model_info.py" line="26"/>
        <source>Click “Install dependencies…” above, then restart QGIS.</source>
        <translation>Cliquez sur « Installer les dépendances… » ci-dessus, puis redémarrez QGIS.</translation>
    </message>
    <message>
        <location filename="../dock/model_info.py" line="50"/>
        <source>The model card cannot be read: {0} missing. {1}</source>
        <translation>La fiche du modèle ne peut pas être lue : {0} manquant. {1}</translation>
    </message>
</context>
<context>
    <name>ChmFromDsmDtmAlgorithm</name>
    <message>
        <location filename="../processing/chm_from_dsm_dtm.py" line="45"/>
        <source>DSM (surface, metres)</source>
        <translation>MNS (surface, mètres)</translation>
    </message>
    <message>
        <location filename="../processing/chm_from_dsm_dtm.py" line="48"/>
        <source>DTM (ground, metres)</source>
        <translation>MNT (sol, mètres)</translation>
    </message>
    <message>
        <location filename="../processing/chm_from_dsm_dtm.py" line="51"/>
        <source>CHM</source>
        <translation>MNH</translation>
    </message>
    <message>
        <location filename="../processing/chm_from_dsm_dtm.py" line="32"/>
        <source>CHM from DSM and DTM</source>
        <translation>MNH depuis MNS et MNT</translation>
    </message>
    <message>
        <location filename="../processing/chm_from_dsm_dtm.py" line="33"/>
        <source>Height rasters</source>
        <translation>Rasters de hauteur</translation>
    </message>
    <message>
        <location filename="../processing/chm_from_dsm_dtm.py" line="36"/>
        <source>Computes a canopy height model (CHM = DSM - DTM, metres above ground). The DTM is resampled (bilinear) onto the DSM&apos;s grid, moved to a metric CRS when the DSM is in degrees; negative heights are set to 0 and cells without data in either input are nodata. Both rasters must overlap.</source>
        <translation>Calcule un modèle numérique de hauteur (MNH = MNS - MNT, mètres au-dessus du sol). Le MNT est rééchantillonné (bilinéaire) sur la grille du MNS, passée dans un SCR métrique quand le MNS est en degrés ; les hauteurs négatives sont mises à 0 et les cellules sans donnée dans l’une des entrées sont nodata. Les deux rasters doivent se recouvrir.</translation>
    </message>
</context>
<context>
    <name>DetectGapsAlgorithm</name>
    <message>
        <location filename="../processing/detect_gaps.py" line="105"/>
        <source>DSM (metres)</source>
        <translation>MNS (mètres)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="106"/>
        <source>Height thresholds (m, comma-separated)</source>
        <translation>Seuils de hauteur (m, séparés par des virgules)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="120"/>
        <source>Model folder (empty: bundled default)</source>
        <translation>Dossier du modèle (vide : modèle fourni par défaut)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="128"/>
        <source>Tile size (px)</source>
        <translation>Taille des tuiles (px)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="128"/>
        <source>Overlap (px)</source>
        <translation>Recouvrement (px)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="128"/>
        <source>Batch size</source>
        <translation>Taille de lot</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="144"/>
        <source>Minimum gap area (m²)</source>
        <translation>Surface minimale d’une trouée (m²)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="184"/>
        <source>Output folder</source>
        <translation>Dossier de sortie</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="188"/>
        <source>Summary (JSON)</source>
        <translation>Résumé (JSON)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="189"/>
        <source>Gaps at the lowest threshold</source>
        <translation>Trouées au seuil le plus bas</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="113"/>
        <source>Coarse terrain (DEM; the default model then runs its terrain model)</source>
        <translation>Terrain grossier (MNE ; le modèle par défaut lance alors son modèle de terrain)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="153"/>
        <source>Maximum gap area (m², 0 = no limit; ForestGapR uses 10000)</source>
        <translation>Surface maximale d’une trouée (m², 0 = sans limite ; ForestGapR utilise 10000)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="162"/>
        <source>Canopy height model (CHM): classic fallback, agreement</source>
        <translation>Modèle numérique de hauteur (MNH) : repli classique, accord</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="162"/>
        <source>Terrain model (DTM): CHM = DSM - DTM</source>
        <translation>Modèle de terrain (MNT) : MNH = MNS - MNT</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="167"/>
        <source>Processing extent (empty: the whole DSM)</source>
        <translation>Emprise du traitement (vide : tout le MNS)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="172"/>
        <source>ForestGaps server URL (empty: run on this computer)</source>
        <translation>URL du serveur ForestGaps (vide : exécuter sur cet ordinateur)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="179"/>
        <source>Server token</source>
        <translation>Jeton du serveur</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="187"/>
        <source>Method (model/classic)</source>
        <translation>Méthode (modèle/classique)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="82"/>
        <source>Detect gaps in a DSM (deep learning)</source>
        <translation>Détecter les trouées dans un MNS (apprentissage profond)</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="83"/>
        <source>Gap detection</source>
        <translation>Détection des trouées</translation>
    </message>
    <message>
        <location filename="../processing/detect_gaps.py" line="86"/>
        <source>Predicts canopy gaps from a digital surface model (DSM, metres) with a trained ForestGaps model, at every listed height threshold in one pass.

Thresholds: comma-separated heights in metres, e.g. 2,5,10. Model: a model folder (model.safetensors + model_card.json); empty uses the bundled default model. Tile, overlap and batch set the prediction windows (overlap below half the tile). Writes per threshold a gap probability raster, a gap mask and gap polygons, plus summary.json, into the output folder.

With a CHM or a DTM (CHM = DSM - DTM), the classic ForestGapR rule runs instead when no model is usable, and otherwise the log gives each mask&apos;s agreement with it. An extent cuts the inputs; a server URL (forestgaps serve) runs the model there. A server started with a token (forestgaps serve --token) needs a Server token: a QGIS authentication configuration of method Basic whose password is the token.</source>
        <translation>Prédit les trouées de canopée à partir d’un modèle numérique de surface (MNS, mètres) avec un modèle ForestGaps entraîné, à chaque seuil de hauteur listé, en une passe.

Seuils : hauteurs en mètres séparées par des virgules, p. ex. 2,5,10. Modèle : un dossier de modèle (model.safetensors + model_card.json) ; vide, le modèle fourni par défaut est utilisé. Tuile, recouvrement et lot règlent les fenêtres de prédiction (recouvrement inférieur à la moitié de la tuile). Écrit pour chaque seuil un raster de probabilité, un masque et des polygones de trouées, ainsi que summary.json, dans le dossier de sortie.

Avec un MNH ou un MNT (MNH = MNS - MNT), la règle classique de ForestGapR s’exécute à la place quand aucun modèle n’est utilisable ; sinon, le journal donne l’accord de chaque masque avec lui. Une emprise découpe les entrées ; une URL de serveur (forestgaps serve) y exécute le modèle. Un serveur lancé avec un jeton (forestgaps serve --token) demande un Jeton du serveur : une configuration d’authentification QGIS de méthode Basic dont le mot de passe est le jeton.</translation>
    </message>
</context>
<context>
    <name>DetectRegionAlgorithm</name>
    <message>
        <location filename="../processing/detect_region.py" line="76"/>
        <source>Folder of tiles</source>
        <translation>Dossier de tuiles</translation>
    </message>
    <message>
        <location filename="../processing/detect_region.py" line="82"/>
        <source>Height threshold (m)</source>
        <translation>Seuil de hauteur (m)</translation>
    </message>
    <message>
        <location filename="../processing/detect_region.py" line="89"/>
        <source>Method</source>
        <translation>Méthode</translation>
    </message>
    <message>
        <location filename="../processing/detect_region.py" line="89"/>
        <source>Model (DSM tiles)</source>
        <translation>Modèle (tuiles MNS)</translation>
    </message>
    <message>
        <location filename="../processing/detect_region.py" line="89"/>
        <source>Classic (CHM tiles)</source>
        <translation>Classique (tuiles MNH)</translation>
    </message>
    <message>
        <location filename="../processing/detect_region.py" line="96"/>
        <source>Block size (pixels)</source>
        <translation>Taille des blocs (pixels)</translation>
    </message>
    <message>
        <location filename="../processing/detect_region.py" line="103"/>
        <source>Workers</source>
        <translation>Processus de calcul</translation>
    </message>
    <message>
        <location filename="../processing/detect_region.py" line="110"/>
        <source>Output folder</source>
        <translation>Dossier de sortie</translation>
    </message>
    <message>
        <location filename="../processing/detect_region.py" line="113"/>
        <source>Gap mask</source>
        <translation>Masque des trouées</translation>
    </message>
    <message>
        <location filename="../processing/detect_region.py" line="114"/>
        <source>Gap polygons</source>
        <translation>Polygones des trouées</translation>
    </message>
    <message>
        <location filename="../processing/detect_region.py" line="115"/>
        <source>Summary (JSON)</source>
        <translation>Résumé (JSON)</translation>
    </message>
    <message>
        <location filename="../processing/detect_region.py" line="116"/>
        <source>Number of gaps</source>
        <translation>Nombre de trouées</translation>
    </message>
    <message>
        <location filename="../processing/detect_region.py" line="59"/>
        <source>Detect gaps over a region</source>
        <translation>Détecter les trouées sur une région</translation>
    </message>
    <message>
        <location filename="../processing/detect_region.py" line="60"/>
        <source>Gap detection</source>
        <translation>Détection des trouées</translation>
    </message>
    <message>
        <location filename="../processing/detect_region.py" line="63"/>
        <source>Maps canopy gaps over a folder of tiles (DSMs for the model, CHMs for the classic detector), as if the tiles were one raster: a gap crossing a tile edge is one gap. Tiles in other CRSs are warped onto the grid of most tiles. The region is computed in blocks on a local Dask cluster; a run stopped half-way continues where it stopped when started again with the same output folder.

Writes a gap mask (and for the model a gap probability) as Cloud-Optimized GeoTIFFs, the gap polygons as a GeoPackage and GeoParquet, and summary.json. Needs Dask: pip install &quot;.[region]&quot; into QGIS&apos;s Python.</source>
        <translation>Cartographie les trouées de canopée sur un dossier de tuiles (des MNS pour le modèle, des MNH pour le détecteur classique) comme si les tuiles formaient un seul raster : une trouée qui traverse le bord d’une tuile est une seule trouée. Les tuiles dans d’autres SCR sont reprojetées sur la grille de la plupart des tuiles. La région est calculée par blocs sur un cluster Dask local ; une exécution interrompue reprend là où elle s’est arrêtée quand on la relance avec le même dossier de sortie.

Écrit un masque des trouées (et, pour le modèle, une probabilité de trouée) en GeoTIFF optimisés pour le cloud (COG), les polygones des trouées en GeoPackage et GeoParquet, et summary.json. Nécessite Dask : pip install &quot;.[region]&quot; dans le Python de QGIS.</translation>
    </message>
</context>
<context>
    <name>EvaluateModelAlgorithm</name>
    <message>
        <location filename="../processing/evaluate_model.py" line="55"/>
        <source>Evaluate a gap model</source>
        <translation>Évaluer un modèle de trouées</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="58"/>
        <source>Training</source>
        <translation>Entraînement</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="64"/>
        <source>Scores gap maps against reference gaps found on a canopy height model with ForestGapR&apos;s rule (height &lt;= threshold, 8-connected, area bounds of the gaps defaults). The reference is a CHM, or a DTM from which CHM = DSM - DTM. With a model folder the model predicts on the DSM and is scored beside the DSM-only baseline and the CHM ceiling; without one, the baselines alone are scored. Writes report.md, metrics.csv, objects.csv, bias.csv, a JSON and figures into the output folder.</source>
        <translation>Évalue des cartes de trouées par rapport aux trouées de référence trouvées sur un modèle numérique de hauteur avec la règle de ForestGapR (hauteur &lt;= seuil, 8-connexité, bornes de surface par défaut). La référence est un MNH, ou un MNT dont on tire MNH = MNS - MNT. Avec un dossier de modèle, le modèle prédit sur le MNS et est évalué à côté de la référence MNS seul et du plafond MNH ; sans modèle, seules les références sont évaluées. Écrit report.md, metrics.csv, objects.csv, bias.csv, un JSON et des figures dans le dossier de sortie.</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="75"/>
        <source>DSM (metres)</source>
        <translation>MNS (mètres)</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="76"/>
        <source>CHM or DTM (metres)</source>
        <translation>MNH ou MNT (mètres)</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="79"/>
        <source>The reference holds</source>
        <translation>La référence contient</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="79"/>
        <source>CHM (heights above ground)</source>
        <translation>MNH (hauteurs au-dessus du sol)</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="79"/>
        <source>DTM (ground elevation)</source>
        <translation>MNT (altitude du sol)</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="90"/>
        <source>Model folder (empty: baselines only)</source>
        <translation>Dossier du modèle (vide : références seules)</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="98"/>
        <source>Height thresholds (m, comma-separated)</source>
        <translation>Seuils de hauteur (m, séparés par des virgules)</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="105"/>
        <source>Report folder</source>
        <translation>Dossier du rapport</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="108"/>
        <source>Report (Markdown)</source>
        <translation>Rapport (Markdown)</translation>
    </message>
    <message>
        <location filename="../processing/evaluate_model.py" line="109"/>
        <source>Metrics (CSV)</source>
        <translation>Métriques (CSV)</translation>
    </message>
</context>
<context>
    <name>ExportModelAlgorithm</name>
    <message>
        <location filename="../processing/export_model.py" line="59"/>
        <source>Export a gap model</source>
        <translation>Exporter un modèle de trouées</translation>
    </message>
    <message>
        <location filename="../processing/export_model.py" line="62"/>
        <source>Training</source>
        <translation>Entraînement</translation>
    </message>
    <message>
        <location filename="../processing/export_model.py" line="68"/>
        <source>Exports a model folder (model.safetensors + model_card.json; empty: the bundled default) to ONNX (.onnx, for ONNX Runtime), TorchScript (.pt) or a clean native model folder. ONNX and TorchScript graphs take raw DSM metres and a threshold and return gap probabilities. The export is refused when it differs from the original model by more than 1e-4.</source>
        <translation>Exporte un dossier de modèle (model.safetensors + model_card.json ; vide : le modèle fourni par défaut) en ONNX (.onnx, pour ONNX Runtime), en TorchScript (.pt) ou en dossier de modèle natif propre. Les graphes ONNX et TorchScript prennent le MNS brut en mètres et un seuil, et renvoient des probabilités de trouée. L’export est refusé s’il diffère du modèle d’origine de plus de 1e-4.</translation>
    </message>
    <message>
        <location filename="../processing/export_model.py" line="77"/>
        <source>Model folder (empty: bundled default)</source>
        <translation>Dossier du modèle (vide : modèle fourni par défaut)</translation>
    </message>
    <message>
        <location filename="../processing/export_model.py" line="85"/>
        <source>Format</source>
        <translation>Format</translation>
    </message>
    <message>
        <location filename="../processing/export_model.py" line="90"/>
        <source>Exported model (.onnx, .pt, or a folder for native)</source>
        <translation>Modèle exporté (.onnx, .pt, ou un dossier pour natif)</translation>
    </message>
    <message>
        <location filename="../processing/export_model.py" line="97"/>
        <source>Parity (JSON)</source>
        <translation>Parité (JSON)</translation>
    </message>
</context>
<context>
    <name>GapChangeAlgorithm</name>
    <message>
        <location filename="../processing/gap_change.py" line="79"/>
        <source>Gap changes between two dates</source>
        <translation>Évolution des trouées entre deux dates</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="82"/>
        <source>Gap dynamics</source>
        <translation>Dynamique des trouées</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="88"/>
        <source>Compares the canopy gaps of two surveys at each height threshold, as ForestGapR&apos;s GapChangeDec does: a new-gap cell is gap on the second date and not on the first. Inputs are two canopy height models (CHMs), or two DSMs with a DTM each (CHM = DSM - DTM), or two DSMs alone (the model finds the gaps). Rasters on different grids or CRSs are brought onto one grid, the finer by default.

Writes per threshold the new-gap raster (value 2), a raster of change classes (never gap, persistent, new, closed), a GeoPackage of gap events (new, expansion, persistent, closure) with areas before and after, a size-frequency plot, and summary.json (with rates per hectare per year when both survey dates are given).</source>
        <translation>Compare les trouées de canopée de deux relevés à chaque seuil de hauteur, comme le fait GapChangeDec de ForestGapR : une cellule de nouvelle trouée est en trouée à la seconde date et pas à la première. Les entrées sont deux modèles numériques de hauteur (MNH), ou deux MNS avec chacun un MNT (MNH = MNS - MNT), ou deux MNS seuls (le modèle trouve les trouées). Des rasters sur des grilles ou des SCR différents sont ramenés sur une seule grille, la plus fine par défaut.

Écrit pour chaque seuil le raster des nouvelles trouées (valeur 2), un raster de classes d’évolution (jamais en trouée, persistante, nouvelle, refermée), un GeoPackage des événements de trouées (nouvelle, extension, persistante, fermeture) avec les surfaces avant et après, un graphique taille-fréquence et summary.json (avec des taux par hectare et par an quand les deux dates de relevé sont données).</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="102"/>
        <source>First date (CHM or DSM)</source>
        <translation>Première date (MNH ou MNS)</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="105"/>
        <source>Second date (same kind)</source>
        <translation>Seconde date (même type)</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="108"/>
        <source>The two rasters are</source>
        <translation>Les deux rasters sont</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="108"/>
        <source>CHMs (heights above ground)</source>
        <translation>Des MNH (hauteurs au-dessus du sol)</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="108"/>
        <source>DSMs (elevations)</source>
        <translation>Des MNS (altitudes)</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="116"/>
        <source>DTM of the first date (DSMs only; empty: the model)</source>
        <translation>MNT de la première date (MNS seulement ; vide : le modèle)</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="116"/>
        <source>DTM of the second date (DSMs only)</source>
        <translation>MNT de la seconde date (MNS seulement)</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="121"/>
        <source>Height thresholds (m, comma-separated)</source>
        <translation>Seuils de hauteur (m, séparés par des virgules)</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="127"/>
        <source>Minimum gap area (m²)</source>
        <translation>Surface minimale d’une trouée (m²)</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="127"/>
        <source>Maximum gap area (m²)</source>
        <translation>Surface maximale d’une trouée (m²)</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="137"/>
        <source>Survey date of the first raster (YYYY-MM-DD, optional)</source>
        <translation>Date du relevé du premier raster (AAAA-MM-JJ, facultative)</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="137"/>
        <source>Survey date of the second raster (YYYY-MM-DD, optional)</source>
        <translation>Date du relevé du second raster (AAAA-MM-JJ, facultative)</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="142"/>
        <source>Common grid</source>
        <translation>Grille commune</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="142"/>
        <source>The finer grid</source>
        <translation>La grille la plus fine</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="142"/>
        <source>The first date&apos;s grid</source>
        <translation>La grille de la première date</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="142"/>
        <source>The second date&apos;s grid</source>
        <translation>La grille de la seconde date</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="151"/>
        <source>Output folder</source>
        <translation>Dossier de sortie</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="154"/>
        <source>New gaps (lowest threshold)</source>
        <translation>Nouvelles trouées (seuil le plus bas)</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="157"/>
        <source>Change classes (lowest threshold)</source>
        <translation>Classes d’évolution (seuil le plus bas)</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="160"/>
        <source>Gap events (lowest threshold)</source>
        <translation>Événements de trouées (seuil le plus bas)</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="166"/>
        <source>Summary (JSON)</source>
        <translation>Résumé (JSON)</translation>
    </message>
    <message>
        <location filename="../processing/gap_change.py" line="167"/>
        <source>New gap area at the lowest threshold (m²)</source>
        <translation>Surface de nouvelles trouées au seuil le plus bas (m²)</translation>
    </message>
</context>
<context>
    <name>GapPatternAlgorithm</name>
    <message>
        <location filename="../processing/gap_pattern.py" line="59"/>
        <source>Gap spatial pattern</source>
        <translation>Structure spatiale des trouées</translation>
    </message>
    <message>
        <location filename="../processing/gap_pattern.py" line="62"/>
        <source>Gap dynamics</source>
        <translation>Dynamique des trouées</translation>
    </message>
    <message>
        <location filename="../processing/gap_pattern.py" line="68"/>
        <source>Tests whether canopy gaps are clustered, random or regular, as ForestGapR&apos;s GapsSpatPattern does: each gap becomes its centre point; the Clark-Evans index R is tested against complete spatial randomness (Z-test, no edge correction; the Donnelly-corrected R is given too), and Ripley&apos;s K and L functions (isotropic edge correction) are drawn with an envelope of random patterns.

Gaps: a gap polygon layer (GeoPackage) or a gap raster. Study area: the extent of the CHM the gaps come from (default: the extent of the gaps&apos; layer). Writes a PNG of K and L and a JSON of every number.</source>
        <translation>Teste si les trouées de canopée sont agrégées, aléatoires ou régulières, comme le fait GapsSpatPattern de ForestGapR : chaque trouée devient son point central ; l’indice R de Clark-Evans est testé contre l’aléa spatial complet (test Z, sans correction de bord ; le R corrigé de Donnelly est aussi donné), et les fonctions K et L de Ripley (correction de bord isotrope) sont tracées avec une enveloppe de semis aléatoires.

Trouées : une couche de polygones de trouées (GeoPackage) ou un raster de trouées. Zone d’étude : l’emprise du MNH dont viennent les trouées (par défaut : l’emprise de la couche des trouées). Écrit un PNG de K et L et un JSON de toutes les valeurs.</translation>
    </message>
    <message>
        <location filename="../processing/gap_pattern.py" line="80"/>
        <source>Gaps (polygon layer or gap raster)</source>
        <translation>Trouées (couche de polygones ou raster de trouées)</translation>
    </message>
    <message>
        <location filename="../processing/gap_pattern.py" line="83"/>
        <source>Study area: the CHM (optional)</source>
        <translation>Zone d’étude : le MNH (facultatif)</translation>
    </message>
    <message>
        <location filename="../processing/gap_pattern.py" line="89"/>
        <source>Random patterns in the envelope</source>
        <translation>Semis aléatoires de l’enveloppe</translation>
    </message>
    <message>
        <location filename="../processing/gap_pattern.py" line="95"/>
        <source>Random seed</source>
        <translation>Graine aléatoire</translation>
    </message>
    <message>
        <location filename="../processing/gap_pattern.py" line="101"/>
        <source>Output folder</source>
        <translation>Dossier de sortie</translation>
    </message>
    <message>
        <location filename="../processing/gap_pattern.py" line="104"/>
        <source>K and L plot (PNG)</source>
        <translation>Graphique de K et L (PNG)</translation>
    </message>
    <message>
        <location filename="../processing/gap_pattern.py" line="105"/>
        <source>Pattern statistics (JSON)</source>
        <translation>Statistiques de structure (JSON)</translation>
    </message>
    <message>
        <location filename="../processing/gap_pattern.py" line="106"/>
        <source>Clark-Evans R</source>
        <translation>R de Clark-Evans</translation>
    </message>
    <message>
        <location filename="../processing/gap_pattern.py" line="107"/>
        <source>p-value of R</source>
        <translation>Valeur p de R</translation>
    </message>
    <message>
        <location filename="../processing/gap_pattern.py" line="108"/>
        <source>Pattern at the 5% level</source>
        <translation>Structure au seuil de 5 %</translation>
    </message>
</context>
<context>
    <name>GapStatisticsAlgorithm</name>
    <message>
        <location filename="../processing/gap_statistics.py" line="74"/>
        <source>Gap statistics (CSV)</source>
        <translation>Statistiques des trouées (CSV)</translation>
    </message>
    <message>
        <location filename="../processing/gap_statistics.py" line="77"/>
        <source>Gap detection</source>
        <translation>Détection des trouées</translation>
    </message>
    <message>
        <location filename="../processing/gap_statistics.py" line="83"/>
        <source>Computes ForestGapR's GapStats for every gap of a gap-id raster (0 = no gap, 1..n = gap ids, e.g. the output of 'Gaps from CHM'): area (m²) and the maximum, minimum, mean, standard deviation, Gini coefficient and range of the canopy height inside the gap. The gap raster is aligned on the CHM's grid (nearest neighbour). Ids are renumbered 1..n in increasing order.</source>
        <translation>Calcule les GapStats de ForestGapR pour chaque trouée d’un raster d’identifiants (0 = pas de trouée, 1..n = identifiants, p. ex. la sortie de « Trouées depuis un MNH ») : surface (m²) et maximum, minimum, moyenne, écart-type, coefficient de Gini et étendue de la hauteur de canopée dans la trouée. Le raster de trouées est aligné sur la grille du MNH (plus proche voisin). Les identifiants sont renumérotés 1..n par ordre croissant.</translation>
    </message>
    <message>
        <location filename="../processing/gap_statistics.py" line="92"/>
        <source>Gap id raster</source>
        <translation>Raster des identifiants de trouées</translation>
    </message>
    <message>
        <location filename="../processing/gap_statistics.py" line="93"/>
        <source>CHM (metres)</source>
        <translation>MNH (mètres)</translation>
    </message>
    <message>
        <location filename="../processing/gap_statistics.py" line="94"/>
        <source>Gap statistics</source>
        <translation>Statistiques des trouées</translation>
    </message>
    <message>
        <location filename="../processing/gap_statistics.py" line="99"/>
        <source>Number of gaps</source>
        <translation>Nombre de trouées</translation>
    </message>
</context>
<context>
    <name>GapsFromChmAlgorithm</name>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="78"/>
        <source>Canopy height model (CHM, metres)</source>
        <translation>Modèle numérique de hauteur (MNH, mètres)</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="83"/>
        <source>Height threshold (m): gap where height &lt;= threshold</source>
        <translation>Seuil de hauteur (m) : trouée où hauteur &lt;= seuil</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="92"/>
        <source>Minimum gap area (m²)</source>
        <translation>Surface minimale d’une trouée (m²)</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="102"/>
        <source>Maximum gap area (m²)</source>
        <translation>Surface maximale d’une trouée (m²)</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="112"/>
        <source>Output folder</source>
        <translation>Dossier de sortie</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="115"/>
        <source>Gap raster</source>
        <translation>Raster des trouées</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="116"/>
        <source>Gap polygons</source>
        <translation>Polygones des trouées</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="123"/>
        <source>Gap statistics (CSV)</source>
        <translation>Statistiques des trouées (CSV)</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="124"/>
        <source>Number of gaps</source>
        <translation>Nombre de trouées</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="63"/>
        <source>Gaps from CHM (classic, ForestGapR-exact)</source>
        <translation>Trouées depuis un MNH (classique, identique à ForestGapR)</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="64"/>
        <source>Gap detection</source>
        <translation>Détection des trouées</translation>
    </message>
    <message>
        <location filename="../processing/gaps_from_chm.py" line="67"/>
        <source>Finds canopy gaps in a canopy height model (CHM, metres above ground) exactly as ForestGapR&apos;s getForestGaps does: a cell is gap when its height is at or below the threshold, gap cells form 8-connected patches, and a patch is kept when its area lies within [minimum area, maximum area] square metres.

The CHM must have a projected CRS in metres. Writes a gap-id raster and gap polygons into the output folder.</source>
        <translation>Trouve les trouées de canopée dans un modèle numérique de hauteur (MNH, mètres au-dessus du sol) exactement comme getForestGaps de ForestGapR : une cellule est en trouée quand sa hauteur est inférieure ou égale au seuil, les cellules en trouée forment des taches 8-connexes, et une tache est gardée quand sa surface est comprise dans [surface minimale, surface maximale] mètres carrés.

Le MNH doit avoir un SCR projeté en mètres. Écrit un raster d’identifiants de trouées et des polygones de trouées dans le dossier de sortie.</translation>
    </message>
</context>
<context>
    <name>PrepareTrainingDataAlgorithm</name>
    <message>
        <location filename="../processing/prepare_training_data.py" line="54"/>
        <source>Prepare training data</source>
        <translation>Préparer les données d’entraînement</translation>
    </message>
    <message>
        <location filename="../processing/prepare_training_data.py" line="57"/>
        <source>Training</source>
        <translation>Entraînement</translation>
    </message>
    <message>
        <location filename="../processing/prepare_training_data.py" line="63"/>
        <source>Turns the sites of a ForestGaps config (DSM + CHM, DSM + DTM, point clouds and/or generated synthetic forests) into training shards: gap labels at every configured threshold, tiles, a split by site, normalization statistics and a manifest. Overrides: key=value per line (or separated by &apos;;&apos;), e.g. synth.n_sites=2. The output folder replaces data.output_dir.</source>
        <translation>Transforme les sites d’une configuration ForestGaps (MNS + MNH, MNS + MNT, nuages de points et/ou forêts synthétiques générées) en fragments d’entraînement : étiquettes de trouées à chaque seuil configuré, tuiles, partage par site, statistiques de normalisation et manifeste. Surcharges : clé=valeur par ligne (ou séparées par « ; »), p. ex. synth.n_sites=2. Le dossier de sortie remplace data.output_dir.</translation>
    </message>
    <message>
        <location filename="../processing/prepare_training_data.py" line="72"/>
        <source>Config (YAML)</source>
        <translation>Configuration (YAML)</translation>
    </message>
    <message>
        <location filename="../processing/prepare_training_data.py" line="77"/>
        <source>Overrides (key=value)</source>
        <translation>Surcharges (clé=valeur)</translation>
    </message>
    <message>
        <location filename="../processing/prepare_training_data.py" line="82"/>
        <source>Prepared data folder</source>
        <translation>Dossier des données préparées</translation>
    </message>
    <message>
        <location filename="../processing/prepare_training_data.py" line="87"/>
        <source>Manifest (JSON)</source>
        <translation>Manifeste (JSON)</translation>
    </message>
</context>
<context>
    <name>RasterizeLidarAlgorithm</name>
    <message>
        <location filename="../processing/rasterize_lidar.py" line="54"/>
        <source>Rasterize LiDAR point cloud (DSM, DTM, CHM)</source>
        <translation>Rastériser un nuage de points LiDAR (MNS, MNT, MNH)</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_lidar.py" line="57"/>
        <source>Height rasters</source>
        <translation>Rasters de hauteur</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_lidar.py" line="63"/>
        <source>Rasterises a LAS/LAZ point cloud at the given cell size (metres): DSM = highest non-noise return per cell (holes filled, pits raised), DTM = lowest ground point (class 2), interpolated elsewhere, CHM = DSM - DTM clipped at 0. Writes dsm.tif, dtm.tif and chm.tif (Cloud Optimized GeoTIFF) into the output folder.

CRS: use it when the file&apos;s header has none or a wrong one. A height-normalised cloud (z already above ground) gives a CHM only.</source>
        <translation>Rastérise un nuage de points LAS/LAZ à la taille de cellule donnée (mètres) : MNS = plus haut retour hors bruit par cellule (trous comblés, creux relevés), MNT = plus bas point sol (classe 2), interpolé ailleurs, MNH = MNS - MNT borné à 0. Écrit dsm.tif, dtm.tif et chm.tif (GeoTIFF optimisé pour le cloud) dans le dossier de sortie.

SCR : à utiliser quand l’en-tête du fichier n’en a pas ou en a un faux. Un nuage normalisé en hauteur (z déjà au-dessus du sol) ne donne qu’un MNH.</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_lidar.py" line="73"/>
        <source>Point cloud (.las, .laz)</source>
        <translation>Nuage de points (.las, .laz)</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_lidar.py" line="80"/>
        <source>Cell size (m)</source>
        <translation>Taille de cellule (m)</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_lidar.py" line="90"/>
        <source>CRS (when the header has none)</source>
        <translation>SCR (quand l’en-tête n’en a pas)</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_lidar.py" line="95"/>
        <source>Point heights</source>
        <translation>Hauteurs des points</translation>
    </message>
    <message>
        <location filename="../processing/rasterize_lidar.py" line="103"/>
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
        <location filename="../processing/train_model.py" line="74"/>
        <source>Trains the model of a ForestGaps config (model, thresholds, training sections) on a prepared data folder (the output of Prepare training data). Writes checkpoints, TensorBoard logs and the model folder (model.safetensors + model_card.json) into the output folder, which replaces training.output_dir. Empty prepared folder: data.output_dir of the config. Overrides: key=value per line (or separated by &apos;;&apos;), e.g. training.epochs=5. Resume continues from checkpoints/last.pt in the output folder. Cancelling keeps the checkpoints.</source>
        <translation>Entraîne le modèle d’une configuration ForestGaps (sections model, seuils, training) sur un dossier de données préparées (la sortie de « Préparer les données d’entraînement »). Écrit les points de reprise, les journaux TensorBoard et le dossier du modèle (model.safetensors + model_card.json) dans le dossier de sortie, qui remplace training.output_dir. Dossier préparé vide : data.output_dir de la configuration. Surcharges : clé=valeur par ligne (ou séparées par « ; »), p. ex. training.epochs=5. Reprendre continue depuis checkpoints/last.pt du dossier de sortie. Annuler garde les points de reprise.</translation>
    </message>
    <message>
        <location filename="../processing/train_model.py" line="85"/>
        <source>Config (YAML)</source>
        <translation>Configuration (YAML)</translation>
    </message>
    <message>
        <location filename="../processing/train_model.py" line="90"/>
        <source>Prepared data folder (empty: data.output_dir of the config)</source>
        <translation>Dossier des données préparées (vide : data.output_dir de la configuration)</translation>
    </message>
    <message>
        <location filename="../processing/train_model.py" line="98"/>
        <source>Overrides (key=value)</source>
        <translation>Surcharges (clé=valeur)</translation>
    </message>
    <message>
        <location filename="../processing/train_model.py" line="103"/>
        <source>Resume from the last checkpoint</source>
        <translation>Reprendre au dernier point de reprise</translation>
    </message>
    <message>
        <location filename="../processing/train_model.py" line="108"/>
        <source>Training folder</source>
        <translation>Dossier d’entraînement</translation>
    </message>
    <message>
        <location filename="../processing/train_model.py" line="111"/>
        <source>Model folder</source>
        <translation>Dossier du modèle</translation>
    </message>
    <message>
        <location filename="../processing/train_model.py" line="112"/>
        <source>Epochs run</source>
        <translation>Époques effectuées</translation>
    </message>
</context>
</TS>
