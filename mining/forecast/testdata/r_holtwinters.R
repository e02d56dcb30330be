# Reference figures for mining/forecast from R's stats::HoltWinters.
# Run (from this folder): Rscript --vanilla r_holtwinters.R
# Writes airpassengers.csv, co2.csv (the series), and r_<name>_fit.csv,
# r_<name>_predict.csv (R's fit and 24-step forecast with 95 % intervals) and
# r_<name>_holdout.csv (fit on all but the last 24 values; errors of that fit
# and of seasonal naive on them).
options(digits = 17)
emit <- function(name, x, seasonal) {
  write.csv(data.frame(t = seq_along(x), value = as.numeric(x)),
            paste0(name, ".csv"), row.names = FALSE, quote = FALSE)
  hw <- HoltWinters(x, seasonal = seasonal)
  cf <- hw$coefficients
  fit <- data.frame(
    key = c("r_version", "frequency", "n", "seasonal", "alpha", "beta", "gamma", "SSE",
            names(cf)),
    value = c(R.version.string, frequency(x), length(x), seasonal,
              sprintf("%.17g", c(hw$alpha, hw$beta, hw$gamma, hw$SSE, cf))))
  write.csv(fit, paste0("r_", name, "_fit.csv"), row.names = FALSE, quote = FALSE)
  p <- predict(hw, n.ahead = 24, prediction.interval = TRUE, level = 0.95)
  write.csv(data.frame(h = 1:24, fit = sprintf("%.17g", as.numeric(p[, "fit"])),
                       upr = sprintf("%.17g", as.numeric(p[, "upr"])),
                       lwr = sprintf("%.17g", as.numeric(p[, "lwr"]))),
            paste0("r_", name, "_predict.csv"), row.names = FALSE, quote = FALSE)
}
emit("airpassengers", AirPassengers, "multiplicative")
emit("co2", co2, "additive")

# Holdout: fit on all but the last 24 months, forecast them, and score the
# forecast and the seasonal-naive baseline (last season repeated) by
# MAPE = mean(|e/y|)*100, sMAPE = mean(2|e|/(|y|+|f|))*100 and
# MASE = mean(|e|) / mean(|y_t - y_{t-12}|) over the training part.
holdout <- function(name, x, seasonal, h = 24) {
  n <- length(x); f <- frequency(x)
  train <- ts(x[1:(n - h)], start = start(x), frequency = f)
  test <- as.numeric(x[(n - h + 1):n])
  hw <- HoltWinters(train, seasonal = seasonal)
  fc <- as.numeric(predict(hw, n.ahead = h))
  tr <- as.numeric(train)
  naive <- rep(tr[(length(tr) - f + 1):length(tr)], length.out = h)
  scale <- mean(abs(diff(tr, lag = f)))
  m <- function(fc) c(mean(abs((test - fc) / test)) * 100,
                      mean(2 * abs(test - fc) / (abs(test) + abs(fc))) * 100,
                      mean(abs(test - fc)) / scale)
  out <- data.frame(
    key = c("h", "alpha", "beta", "gamma", "SSE",
            "hw_mape", "hw_smape", "hw_mase", "naive_mape", "naive_smape", "naive_mase"),
    value = sprintf("%.17g", c(h, hw$alpha, hw$beta, hw$gamma, hw$SSE, m(fc), m(naive))))
  write.csv(out, paste0("r_", name, "_holdout.csv"), row.names = FALSE, quote = FALSE)
}
holdout("airpassengers", AirPassengers, "multiplicative")
holdout("co2", co2, "additive")

# The shortest series R fits: exactly two seasons (period 4, 8 values).
emit("short", ts(10 + sin(1:8) + (1:8) / 4, frequency = 4), "additive")
