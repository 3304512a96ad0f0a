# Reference fits for civmodels' random-intercept models (tests/test_mixed_*.py read the JSON).
# Run from the repository root:  Rscript tests/reference/mixed/make_mixed.R
# Writes tests/reference/mixed/<case>.json with estimates, standard errors, logLik, the
# random-effect SD (and for clmm the SE of log SD), conditional modes and variances, and the
# versions of R and the packages used.
suppressPackageStartupMessages({library(ordinal); library(lme4); library(jsonlite)})
out_dir <- "tests/reference/mixed"
versions <- list(R = R.version.string, ordinal = as.character(packageVersion("ordinal")),
                 lme4 = as.character(packageVersion("lme4")))

# tight optimiser tolerances so the fixtures are accurate well beyond the 1e-4 tests
cctrl <- clmm.control(method = "ucminf", grtol = 1e-10)
# clmm fits several random terms with nlminb only (and then on the SD scale, bounded at 0)
cctrl_multi <- clmm.control(method = "nlminb", rel.tol = 1e-12, x.tol = 1e-12, eval.max = 2000,
                            iter.max = 2000)
# lme4's default PIRLS tolerance (tolPwrss = 1e-7) leaves the conditional modes inexact
# enough to move the Laplace logLik of cbpp by 3e-4 (the log-determinant is evaluated at the
# inexact mode); 1e-10 makes it agree with an exact Laplace approximation to ~1e-8.
gctrl <- glmerControl(optimizer = "bobyqa", tolPwrss = 1e-10,
                      optCtrl = list(rhoend = 1e-10, maxfun = 1e5))

clmm_case <- function(name, formula, data, link = "logit", nAGQ = 1L) {
  multi <- length(grep("|", attr(terms(formula), "term.labels"), fixed = TRUE)) > 1
  f <- clmm(formula, data = data, link = link, nAGQ = nAGQ,
            control = if (multi) cctrl_multi else cctrl)
  se <- sqrt(diag(vcov(f)))
  npar <- length(f$alpha) + length(f$beta)
  # clmm's vcov drops a variance parameter whose Hessian row is singular (SD on the boundary)
  st_se <- c(se[-seq_len(npar)], rep(NA, length(f$ST)))[seq_along(f$ST)]
  re <- ranef(f, condVar = TRUE)
  cv <- condVar(f)
  res <- list(
    case = name, call = paste(deparse(f$call), collapse = " "), link = link, nAGQ = nAGQ,
    thresholds = as.list(f$alpha), coef = as.list(f$beta),
    se = as.list(se[seq_len(npar)]),
    # one random term: clmm's variance parameter is log(SD); several: the SD itself
    # (bounded optimisation). Store both scales; a boundary SD has no SE in clmm (NA).
    st_scale = if (multi) "sd" else "log_sd",
    se_log_sd = as.list(setNames(
      (if (multi) st_se / unlist(f$ST) else st_se), names(f$ST))),
    se_sd = as.list(setNames(
      (if (multi) st_se else st_se * unlist(f$ST)), names(f$ST))),
    re_sd = lapply(f$ST, function(s) as.numeric(s)),
    loglik = as.numeric(logLik(f)), nobs = nobs(f),
    modes = lapply(re, function(d) setNames(as.list(d[, 1]), rownames(d))),
    cond_var = lapply(cv, function(d) as.numeric(d[, 1])),
    max_grad = max(abs(f$gradient)), versions = versions)
  write_json(res, file.path(out_dir, paste0(name, ".json")), digits = NA, auto_unbox = TRUE,
             pretty = TRUE)
  invisible(res)
}

data(wine, package = "ordinal")
write.csv(wine, file.path(out_dir, "wine.csv"), row.names = FALSE)
clmm_case("wine_logit_laplace", rating ~ temp + contact + (1 | judge), wine)
clmm_case("wine_logit_agq10", rating ~ temp + contact + (1 | judge), wine, nAGQ = 10L)
clmm_case("wine_probit_laplace", rating ~ temp + contact + (1 | judge), wine, link = "probit")
clmm_case("wine_probit_agq10", rating ~ temp + contact + (1 | judge), wine, link = "probit",
          nAGQ = 10L)
# ordinal 2022.11.16: clmm's "cloglog" and "loglog" are swapped relative to clm (its fitted
# values for link = "loglog" equal F(x) = 1 - exp(-exp(x)), the cloglog of clm, glm and
# civmodels). These fixtures are the clmm fits with link = "loglog" / "cloglog", which are
# the cloglog / loglog models; the JSON records the check on clmm's fitted values.
swap_check <- function(f, F) {
  X <- model.matrix(~ temp + contact, wine)[, -1]
  eta <- drop(X %*% f$beta) + f$ranef[as.integer(wine$judge)]
  th <- c(-Inf, f$alpha, Inf)
  y <- as.integer(wine$rating)
  max(abs(f$fitted.values - (F(th[y + 1] - eta) - F(th[y] - eta))))
}
for (case in list(c("wine_cloglog_agq10", "loglog"), c("wine_loglog_agq10", "cloglog"))) {
  res <- clmm_case(case[1], rating ~ temp + contact + (1 | judge), wine, link = case[2],
                   nAGQ = 10L)
  f <- clmm(rating ~ temp + contact + (1 | judge), data = wine, link = case[2], nAGQ = 10L,
            control = cctrl)
  F <- if (case[1] == "wine_cloglog_agq10") function(x) 1 - exp(-exp(x)) else
    function(x) exp(-exp(-x))
  res$clmm_link_argument <- case[2]
  res$max_abs_diff_fitted_vs_true_link <- swap_check(f, F)
  write_json(res, file.path(out_dir, paste0(case[1], ".json")), digits = NA, auto_unbox = TRUE,
             pretty = TRUE)
}
clmm_case("wine_two_terms_laplace", rating ~ temp + contact + (1 | judge) + (1 | bottle), wine)

sim <- read.csv(file.path(out_dir, "sim444.csv"), stringsAsFactors = TRUE)
sim$y <- factor(sim$y, ordered = TRUE)
sim$bloc <- relevel(sim$bloc, ref = "blue")
clmm_case("sim444_laplace", y ~ log_pop + pressure + region + bloc + area + (1 | municipality), sim)
clmm_case("sim444_two_terms_laplace",
          y ~ log_pop + pressure + region + bloc + (1 | municipality) + (1 | area), sim)
clmm_case("sim444_agq10", y ~ log_pop + pressure + region + bloc + area + (1 | municipality), sim,
          nAGQ = 10L)

# Full binomial marginal log-likelihood (with log choose(n, k)) at given estimates, by
# adaptive-free numerical integration per group: lme4 reports logLik on a different scale
# when nAGQ > 1 (it drops the saturated-model term), so the fixture stores this too.
brute_loglik <- function(k, n, eta, group, sd) {
  sum(sapply(split(seq_along(k), group), function(idx) {
    f <- function(u) sapply(u, function(uu)
      exp(sum(dbinom(k[idx], n[idx], plogis(eta[idx] + uu), log = TRUE))) * dnorm(uu, 0, sd))
    log(integrate(f, -Inf, Inf, rel.tol = 1e-12, subdivisions = 1000L)$value)
  }))
}


glmer_fit <- function(name, g, k, n, group) {
  beta <- fixef(g)
  se <- sqrt(diag(as.matrix(vcov(g))))
  sd <- as.numeric(attr(VarCorr(g)[[1]], "stddev"))
  eta <- as.numeric(model.matrix(g) %*% beta)
  re <- ranef(g, condVar = TRUE)[[1]]
  res <- list(
    case = name, call = paste(deparse(g@call), collapse = " "), nAGQ = g@devcomp$dims[["nAGQ"]],
    coef = as.list(beta), se = as.list(setNames(se, names(beta))),
    re_sd = setNames(list(sd), names(VarCorr(g))),
    loglik_lme4 = as.numeric(logLik(g)),
    loglik_full = brute_loglik(k, n, eta, group, sd), nobs = nobs(g),
    modes = setNames(list(setNames(as.list(re[, 1]), rownames(re))), names(VarCorr(g))),
    cond_var = setNames(list(as.numeric(attr(re, "postVar"))), names(VarCorr(g))),
    versions = versions)
  write_json(res, file.path(out_dir, paste0(name, ".json")), digits = NA, auto_unbox = TRUE,
             pretty = TRUE)
  invisible(res)
}

data(cbpp, package = "lme4")
write.csv(cbpp, file.path(out_dir, "cbpp.csv"), row.names = FALSE)
for (q in c(1L, 25L)) {
  g <- glmer(incidence / size ~ period + (1 | herd), weights = size, data = cbpp,
             family = binomial, nAGQ = q, control = gctrl)
  glmer_fit(sprintf("cbpp_%s", if (q == 1L) "laplace" else "agq25"), g, cbpp$incidence,
            cbpp$size, cbpp$herd)
}

sim$high <- as.integer(as.integer(as.character(sim$y)) >= 3)
for (q in c(1L, 10L)) {
  g <- glmer(high ~ log_pop + pressure + region + bloc + area + (1 | municipality), data = sim,
             family = binomial, nAGQ = q, control = gctrl)
  glmer_fit(sprintf("sim444_binary_%s", if (q == 1L) "laplace" else "agq10"), g, sim$high,
            rep(1, nrow(sim)), sim$municipality)
}

# Profile-likelihood intervals of the judge SD (clmm2: clmm has no profile method). R
# interpolates the profile with a spline over nSteps points, good to ~1e-4 relative.
prof_ci <- function(f) {
  ci <- confint(profile(f, range = c(0.1, 4), nSteps = 50))
  list(sd = as.numeric(f$stDev), ci_lower = ci[1, 1], ci_upper = ci[1, 2])
}
# (profile() re-evaluates the call, so the fits are written out rather than looped)
f1 <- clmm2(rating ~ temp + contact, random = judge, data = wine, Hess = TRUE)
f10 <- clmm2(rating ~ temp + contact, random = judge, data = wine, Hess = TRUE, nAGQ = 10)
prof <- list(laplace = prof_ci(f1), agq10 = prof_ci(f10))
write_json(c(prof, list(versions = versions)), file.path(out_dir, "wine_profile_sd.json"),
           digits = NA, auto_unbox = TRUE, pretty = TRUE)
