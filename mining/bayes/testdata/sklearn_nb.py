# scikit-learn reference for mining/bayes on the Telco churn split.
# Run (in this folder): /usr/bin/python3 sklearn_nb.py
#
# Model: naive Bayes with the 16 categorical Telco attributes (CategoricalNB,
# additive smoothing alpha = 1, categories = those seen in training) and the 3
# numeric ones (tenure, MonthlyCharges, TotalCharges) as Gaussians.
# Equivalent mix: joint log = log prior (training class frequencies)
#   + CategoricalNB log-likelihoods + for each numeric attribute its own
#   GaussianNB log-likelihood (ddof-0 variance + 1e-9 x that attribute's
#   variance), each GaussianNB fitted on the training rows where the attribute
#   is present; a missing value (the 11 blank TotalCharges) contributes no
#   factor. This is what mining/bayes documents for missing values and
#   var_smoothing, so every test row's posterior must agree.
# Writes sklearn_telco.csv (customerID, posterior of Yes, predicted class) and
# sklearn_summary.csv (accuracy, majority baseline, PlayTennis check, and the
# test set's ROC AUC, confusion matrix, precision/recall/F1 of these predictions).
import csv, math
import numpy as np
from sklearn.naive_bayes import CategoricalNB, GaussianNB
from sklearn.metrics import roc_auc_score, confusion_matrix, precision_recall_fscore_support
import sklearn

CAT = ["gender", "SeniorCitizen", "Partner", "Dependents", "PhoneService",
       "MultipleLines", "InternetService", "OnlineSecurity", "OnlineBackup",
       "DeviceProtection", "TechSupport", "StreamingTV", "StreamingMovies",
       "Contract", "PaperlessBilling", "PaymentMethod"]
NUM = ["tenure", "MonthlyCharges", "TotalCharges"]

rows = list(csv.DictReader(open("../../testdata/telco/Telco-Customer-Churn.csv", newline="")))
split = {r["customerID"]: r["set"] for r in csv.DictReader(open("../../testdata/telco/split_70_30.csv", newline=""))}
train = [r for r in rows if split[r["customerID"]] == "train"]
test = [r for r in rows if split[r["customerID"]] == "test"]
classes = ["No", "Yes"]
ytr = np.array([classes.index(r["Churn"]) for r in train])
yte = np.array([classes.index(r["Churn"]) for r in test])

def num(v):
    v = v.strip()
    return float(v) if v else math.nan

# Categorical part: encode with the training categories (all test values are seen).
enc = {c: sorted({r[c] for r in train}) for c in CAT}
Xtr = np.array([[enc[c].index(r[c]) for c in CAT] for r in train])
Xte = np.array([[enc[c].index(r[c]) for c in CAT] for r in test])
cnb = CategoricalNB(alpha=1.0).fit(Xtr, ytr)
logprior = np.log(np.bincount(ytr) / len(ytr))
joint = cnb.predict_joint_log_proba(Xte) - cnb.class_log_prior_ + logprior

for c in NUM:
    xtr = np.array([num(r[c]) for r in train]); xte = np.array([num(r[c]) for r in test])
    ok = ~np.isnan(xtr)
    g = GaussianNB(var_smoothing=1e-9).fit(xtr[ok].reshape(-1, 1), ytr[ok])
    present = ~np.isnan(xte)
    ll = np.zeros((len(test), 2))
    ll[present] = g.predict_joint_log_proba(xte[present].reshape(-1, 1)) - np.log(g.class_prior_)
    joint += ll

post = np.exp(joint - joint.max(axis=1, keepdims=True))
post /= post.sum(axis=1, keepdims=True)
pred = post.argmax(axis=1)
with open("sklearn_telco.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["customerID", "p_yes", "predicted"])
    for r, p, k in zip(test, post[:, 1], pred):
        w.writerow([r["customerID"], repr(float(p)), classes[k]])

acc = float((pred == yte).mean())
baseline = float((yte == np.bincount(ytr).argmax()).mean())

# PlayTennis, alpha = 1 (scikit-learn's default smoothing) for <Sunny, Cool, High, Strong>.
pt = list(csv.DictReader(open("playtennis.csv", newline="")))
ptc = ["outlook", "temperature", "humidity", "wind"]
penc = {c: sorted({r[c] for r in pt}) for c in ptc}
pX = np.array([[penc[c].index(r[c]) for c in ptc] for r in pt])
py = np.array([["No", "Yes"].index(r["play"]) for r in pt])
pnb = CategoricalNB(alpha=1.0).fit(pX, py)
q = np.array([[penc["outlook"].index("Sunny"), penc["temperature"].index("Cool"),
               penc["humidity"].index("High"), penc["wind"].index("Strong")]])
pt_no = float(pnb.predict_proba(q)[0, 0])

with open("sklearn_summary.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["key", "value"])
    w.writerow(["sklearn_version", sklearn.__version__])
    w.writerow(["test_rows", len(test)])
    w.writerow(["test_accuracy", repr(acc)])
    w.writerow(["majority_baseline", repr(baseline)])
    w.writerow(["playtennis_alpha1_posterior_no", repr(pt_no)])
    # The test-set measures of the same predictions (for mining/evaluate).
    w.writerow(["test_roc_auc_yes", repr(float(roc_auc_score(yte, post[:, 1])))])
    cm = confusion_matrix(yte, pred, labels=[0, 1])
    for i, a in enumerate(classes):
        for j, p in enumerate(classes):
            w.writerow([f"confusion_{a}_{p}", int(cm[i, j])])
    P, R, F, S = precision_recall_fscore_support(yte, pred, labels=[0, 1], zero_division=0)
    for k, c in enumerate(classes):
        w.writerow([f"precision_{c}", repr(float(P[k]))])
        w.writerow([f"recall_{c}", repr(float(R[k]))])
        w.writerow([f"f1_{c}", repr(float(F[k]))])
print(acc, baseline, pt_no)
