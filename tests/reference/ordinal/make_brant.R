# Independent reference for Brant's (1990) Wald test of proportional odds, written from the
# paper in base R + MASS (the CRAN `brant` package is not installable here).
# Run from this directory: Rscript make_brant.R  -> brant_housing.{json,csv}, brant_wine.{json,csv}
#
# Construction (Brant 1990, Biometrics 46:1171-1178, section 3):
#   * For each cutpoint j = 1..J-1 fit the binary logit glm(I(y > j) ~ X, binomial), giving
#     beta*_j (intercept + k slopes) and fitted pi_ij = P(Y_i > j | x_i).
#   * Their joint asymptotic covariance: Var(beta*_j) = (X' W_jj X)^-1 and, for j < l,
#     Cov(beta*_j, beta*_l) = (X' W_jj X)^-1 (X' W_jl X) (X' W_ll X)^-1 with
#     W_jl = diag(pi_il - pi_ij pi_il)  (because {Y > l} is contained in {Y > j}).
#   * With D the (J-2)k x (J-1)k contrast matrix of each slope vector against the first
#     (beta_1 - beta_j, j = 2..J-1), the omnibus statistic is
#     X2 = (D b)' (D V D')^-1 (D b) ~ chi2 with (J-2)k df under proportional odds; the test of
#     a single coefficient m restricts D to that coefficient's J-2 contrasts (J-2 df).
# Frequency weights are expanded to one row per observation, so the statistic is the textbook
# unweighted one; the script checks that the weighted cross-products give the same answer.
#
# Separation: in wine, rating ~ temp + contact, no warm wine is rated 1 and no cold wine 5, so
# the binary logits of y > 1 and y > 4 have an infinite temp slope (quasi-complete
# separation). The Wald statistics then converge, as the fit runs off, to limits in which
# the infinite contrasts contribute nothing (Hauck-Donner): not chi-square with the nominal
# df. The script records those limits (glm stopped at three convergence tolerances, to show
# they have settled) and which cutpoints were separated; only the rows not involving the
# separated slope (contact) are valid tests.
suppressPackageStartupMessages(library(MASS))
source("_common.R")

brant_wald <- function(y, X, w = rep(1, length(y)), eps = 1e-14) {
  # y: integer codes 1..J; X: model matrix with intercept column first; w: frequency weights
  J <- max(y)
  k <- ncol(X) - 1L
  sep <- character(0)
  fits <- lapply(seq_len(J - 1), function(j) {
    withCallingHandlers(
      glm.fit(X, as.numeric(y > j), weights = w, family = binomial(),
              control = glm.control(epsilon = eps, maxit = 100)),
      warning = function(wn) {
        sep <<- c(sep, paste0("y>", j, ": ", conditionMessage(wn)))
        invokeRestart("muffleWarning")
      })
  })
  pis <- sapply(fits, fitted)                      # n x (J-1), pi_ij = P(Y > j)
  beta <- sapply(fits, coef)                       # (k+1) x (J-1)
  info_inv <- lapply(seq_len(J - 1), function(j) solve(crossprod(X, X * (w * pis[, j] * (1 - pis[, j])))))
  p <- k + 1
  V <- matrix(0, (J - 1) * p, (J - 1) * p)
  for (j in seq_len(J - 1)) for (l in j:(J - 1)) {
    wjl <- w * (pis[, l] - pis[, j] * pis[, l])
    blk <- info_inv[[j]] %*% crossprod(X, X * wjl) %*% info_inv[[l]]
    V[(j - 1) * p + 1:p, (l - 1) * p + 1:p] <- blk
    V[(l - 1) * p + 1:p, (j - 1) * p + 1:p] <- t(blk)
  }
  slope <- rep(c(FALSE, rep(TRUE, k)), J - 1)      # drop the intercepts
  b <- as.vector(beta)[slope]
  Vs <- V[slope, slope]
  # D: rows (j, m) for j = 2..J-1, m = 1..k give beta_{1m} - beta_{jm}
  D <- matrix(0, (J - 2) * k, (J - 1) * k)
  for (j in 2:(J - 1)) for (m in seq_len(k)) {
    r <- (j - 2) * k + m
    D[r, m] <- 1
    D[r, (j - 1) * k + m] <- -1
  }
  wald <- function(Dm) {
    d <- Dm %*% b
    as.numeric(t(d) %*% solve(Dm %*% Vs %*% t(Dm), d))
  }
  terms <- colnames(X)[-1]
  chi2 <- c(wald(D), sapply(seq_len(k), function(m) wald(D[(seq_len(J - 2) - 1) * k + m, , drop = FALSE])))
  df <- c((J - 2) * k, rep(J - 2, k))
  list(table = data.frame(term = c("Omnibus", terms), chi2 = chi2, df = df,
                          p_value = pchisq(chi2, df, lower.tail = FALSE)),
       binary_coef = setNames(lapply(seq_len(J - 1), function(j) setNames(beta[, j], colnames(X))),
                              paste0("y>", seq_len(J - 1))),
       glm_warnings = unique(sep))
}

run_case <- function(name, formula, data, weights = NULL, separated = FALSE) {
  w <- if (is.null(weights)) rep(1, nrow(data)) else data[[weights]]
  yname <- all.vars(formula)[1]
  X <- model.matrix(formula, data)
  y <- as.integer(data[[yname]])
  # expand frequency weights to rows: the reference statistic
  idx <- rep(seq_len(nrow(data)), times = w)
  limits <- NULL
  if (separated) {
    # information matrices become numerically singular at tight tolerances: stop glm earlier
    fits <- lapply(c(1e-8, 1e-9, 1e-10), function(e) brant_wald(y[idx], X[idx, , drop = FALSE], eps = e))
    res <- fits[[3]]
    limits <- lapply(fits, function(f) f$table$chi2)
    names(limits) <- c("eps=1e-8", "eps=1e-9", "eps=1e-10")
    # separated slopes keep growing as the tolerance tightens (finite MLEs have settled)
    grow <- abs(sapply(fits[[3]]$binary_coef, identity) - sapply(fits[[1]]$binary_coef, identity))
    diverging <- which(grow > 1, arr.ind = TRUE)
    res$glm_warnings <- c(res$glm_warnings, sprintf("%s: coefficient %s diverges (%.1f at eps=1e-10)",
      colnames(grow)[diverging[, 2]], rownames(grow)[diverging[, 1]],
      sapply(seq_len(nrow(diverging)), function(i) fits[[3]]$binary_coef[[diverging[i, 2]]][diverging[i, 1]])))
    stopifnot(nrow(diverging) > 0)
  } else {
    res <- brant_wald(y[idx], X[idx, , drop = FALSE])
    stopifnot(length(res$glm_warnings) == 0)
    # the same with the weights kept as weights must agree (frequency weights)
    res_w <- brant_wald(y, X, w)
    stopifnot(isTRUE(all.equal(res$table$chi2, res_w$table$chi2, tolerance = 1e-8)))
  }
  # polr takes weights by non-standard evaluation: give them a column of the data
  data$.w <- w
  pf <- polr(formula, data = data, weights = .w, Hess = TRUE,
             control = list(reltol = 1e-14, maxit = 2000))
  write.csv(res$table, paste0("brant_", name, ".csv"), row.names = FALSE)
  out <- list(case = name, formula = deparse(formula), weights = weights,
              nobs_expanded = length(idx), term = res$table$term, chi2 = res$table$chi2,
              df = res$table$df, p_value = res$table$p_value,
              separated = separated, glm_warnings = res$glm_warnings, chi2_limits = limits,
              binary_coef = res$binary_coef,
              polr = list(zeta = as.list(pf$zeta), coef = as.list(coef(pf)),
                          loglik = as.numeric(logLik(pf))),
              versions = c(versions(), jsonlite = as.character(packageVersion("jsonlite"))))
  write_json(out, paste0("brant_", name, ".json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
  cat(name, "\n")
  print(res$table, digits = 10)
  if (separated) print(limits, digits = 10)
}

housing <- read.csv("housing.csv")
housing$Sat <- factor(housing$Sat, levels = c("Low", "Medium", "High"), ordered = TRUE)
housing$Infl <- factor(housing$Infl, levels = c("Low", "Medium", "High"))
housing$Type <- factor(housing$Type, levels = c("Tower", "Apartment", "Atrium", "Terrace"))
housing$Cont <- factor(housing$Cont, levels = c("Low", "High"))
run_case("housing", Sat ~ Infl + Type + Cont, housing, weights = "Freq")

wine <- read.csv("wine.csv")
wine$rating <- factor(wine$rating, levels = 1:5, ordered = TRUE)
wine$temp <- factor(wine$temp, levels = c("cold", "warm"))
wine$contact <- factor(wine$contact, levels = c("no", "yes"))
run_case("wine", rating ~ temp + contact, wine, separated = TRUE)
run_case("wine_contact", rating ~ contact, wine)

# J = 4 and six slopes (numeric and factor), so the contrasts have more than one row per term
sim <- read.csv("survey_sim.csv")
sim$y <- factor(sim$y, levels = 1:4, ordered = TRUE)
run_case("survey_sim", y ~ x1 + x2 + area + bloc, sim)
