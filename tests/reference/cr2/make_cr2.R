# Reference values for civmodels.replication._smallsample (CR2 variance, Bell-McCaffrey df).
# Run from the repository root: Rscript tests/reference/cr2/make_cr2.R
# Writes tests/reference/cr2/cr2_data.csv (the input) and cr2_reference.csv (the results).
suppressPackageStartupMessages(library(clubSandwich))
set.seed(20161)
G <- 30
sizes <- sample(2:9, G, replace = TRUE)
cl <- rep(seq_len(G), sizes)
n <- length(cl)
# a cluster-level dummy held by few clusters (like the 7 largest municipalities)
big <- as.numeric(cl %in% 1:5)
x2 <- rnorm(n)
grp <- factor(sample(c("a", "b", "c"), n, replace = TRUE))
w <- runif(n, 0.5, 3)
y <- 0.3 * big + 0.2 * x2 + rnorm(G)[cl] + rnorm(n)
d <- data.frame(y, big, x2, grp, w, cl)
write.csv(d, "tests/reference/cr2/cr2_data.csv", row.names = FALSE)
out <- NULL
for (weighted in c(FALSE, TRUE)) {
  fit <- if (weighted) lm(y ~ big + x2 + grp, data = d, weights = w) else lm(y ~ big + x2 + grp, data = d)
  V <- vcovCR(fit, cluster = d$cl, type = "CR2", target = rep(1, n), inverse_var = FALSE)
  ct <- coef_test(fit, vcov = V, test = "Satterthwaite")
  out <- rbind(out, data.frame(weighted = weighted, term = names(coef(fit)),
                               estimate = ct$beta, se = ct$SE, df = ct$df_Satt))
}
write.csv(out, "tests/reference/cr2/cr2_reference.csv", row.names = FALSE)
writeLines(sprintf("clubSandwich %s, R %s", packageVersion("clubSandwich"), getRversion()),
           "tests/reference/cr2/versions.txt")
